package main

import (
	"archive/tar"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
)

// Names used to build realistic paths.
var (
	debPkgs = strings.Fields(`adduser apt base-files base-passwd bash bsdutils coreutils dash debconf debian-archive-keyring
		debianutils diffutils dpkg e2fsprogs findutils gcc-12-base gpgv grep gzip hostname init-system-helpers
		libacl1 libapt-pkg6.0 libattr1 libaudit1 libblkid1 libbz2-1.0 libc-bin libc6 libcap-ng0 libcap2 libcom-err2
		libcrypt1 libdb5.3 libdebconfclient0 libext2fs2 libffi8 libgcc-s1 libgcrypt20 libgmp10 libgnutls30
		libgpg-error0 libhogweed6 libidn2-0 liblz4-1 liblzma5 libmd0 libmount1 libnettle8 libp11-kit0 libpam-modules
		libpam-runtime libpam0g libpcre2-8-0 libseccomp2 libselinux1 libsemanage2 libsepol2 libsmartcols1 libss2
		libstdc++6 libsystemd0 libtasn1-6 libtinfo6 libudev1 libunistring2 libuuid1 libxxhash0 libzstd1 login
		logsave mawk mount ncurses-base ncurses-bin passwd perl-base sed sysvinit-utils tar tzdata usr-is-merged
		util-linux util-linux-extra zlib1g ca-certificates curl libcurl4 libssl3 openssl libbrotli1 libkrb5-3
		libgssapi-krb5-2 libldap-2.5-0 libnghttp2-14 libpsl5 librtmp1 libssh2-1 libsasl2-2 libk5crypto3
		libkeyutils1 libkrb5support0 libexpat1 libsqlite3-0 libreadline8 libncursesw6 xz-utils bzip2 patch less`)
	devPkgs = strings.Fields(`binutils binutils-common binutils-x86-64-linux-gnu build-essential cpp cpp-12 dpkg-dev
		g++ g++-12 gcc gcc-12 git git-man libasan8 libatomic1 libbinutils libc-dev-bin libc6-dev libcc1-0
		libcrypt-dev libctf-nobfd0 libctf0 libdpkg-perl libgcc-12-dev libgdbm-compat4 libgdbm6 libgomp1
		libgprofng0 libisl23 libitm1 libjansson4 liblsan0 libmpc3 libmpfr6 libnsl-dev libnsl2 libperl5.36
		libpython3.11-minimal libpython3.11-stdlib libquadmath0 libstdc++-12-dev libtirpc-dev libtirpc3
		libtsan2 libubsan1 linux-libc-dev make manpages manpages-dev patch perl perl-modules-5.36 python3
		python3-minimal python3.11 python3.11-minimal rpcsvc-proto libexpat1-dev liberror-perl libcurl3-gnutls`)
	libStems = strings.Fields(`ssl crypto z stdc++ gcc_s ncursesw tinfo readline zstd lzma bz2 krb5 gssapi_krb5 ldap
		nghttp2 psl ssh2 brotlidec brotlienc brotlicommon idn2 unistring p11-kit tasn1 gnutls hogweed nettle
		systemd udev selinux pcre2-8 acl attr cap audit pam db-5.3 gdbm uuid blkid mount smartcols apt-pkg
		sqlite3 expat ffi gmp isl mpc mpfr python3.11 perl curl sasl2 k5crypto keyutils rtmp lz4 xxhash md
		gcrypt gpg-error seccomp semanage sepol ext2fs com_err ss e2p magic jansson ctf bfd opcodes sframe
		gprofng asan tsan ubsan lsan itm gomp quadmath atomic tirpc nsl crypt resolv m dl rt pthread anl`)
	libSuffixes = []string{"", "", "", "", "-util", "-core", "-gnu", "_plugin", "-extra", "-posix", "w", "-client"}
	binNames    = strings.Fields(`ls cat cp mv rm ln mkdir rmdir chmod chown chgrp touch date dd df du echo env
		expr false true head tail sort uniq wc tr cut paste join split csplit tee test stat sync uname id whoami
		groups nice nohup printf pwd readlink realpath basename dirname seq sleep shuf sha1sum sha256sum sha512sum
		md5sum base64 base32 od xargs find grep egrep fgrep sed awk mawk gzip gunzip zcat tar bzip2 xz unxz
		bash dash sh diff cmp diff3 sdiff patch less more dpkg dpkg-deb dpkg-query apt apt-get apt-cache
		apt-config apt-mark debconf getent iconv locale ldd mount umount lsblk findmnt logger mesg script
		setsid taskset ionice chrt flock getopt hexdump hd col column rev look whereis kill pkill pgrep ps top
		free uptime watch vmstat openssl curl perl5.36-x86_64-linux-gnu cpan corelist h2ph instmodsh json_pp
		pod2man pod2text prove ptar shasum splain streamzip tzselect zdump`)
	sbinNames = strings.Fields(`adduser useradd userdel usermod groupadd groupdel chpasswd newusers pwck grpck
		ldconfig start-stop-daemon fsck mkfs e2fsck mke2fs tune2fs blkid losetup swapon swapoff pivot_root
		chroot nologin runuser agetty sulogin killall5 halt shutdown installkernel dpkg-reconfigure update-passwd`)
	words = strings.Fields(`alpha beta gamma delta util core common shared base client server request response
		handler router stream buffer parser lexer token schema config loader cache store queue worker pool
		logger format encode decode crypto hash sign verify auth session cookie header body json yaml xml csv
		date time timer event emitter promise async retry backoff limit throttle debounce merge clone deep equal
		path url query params match glob minimatch semver version resolve compile transform plugin preset
		visitor traverse generator types template render view model controller service repository entity
		migration seed fixture mock spy stub assert expect report reporter runner spec suite hook context
		inject provider module registry index main utils helpers constants errors validation middleware`)
	npmPkgs = strings.Fields(`express body-parser cookie-parser cors helmet morgan compression debug ms dotenv
		lodash underscore moment dayjs date-fns uuid nanoid axios node-fetch got undici ws socket.io
		socket.io-client engine.io mongoose mongodb pg pg-pool pg-protocol mysql2 sequelize typeorm knex redis
		ioredis bull bullmq jsonwebtoken bcrypt bcryptjs passport passport-jwt joi yup zod ajv ajv-formats
		winston pino pino-pretty chalk commander yargs inquirer ora glob minimatch rimraf mkdirp fs-extra
		graceful-fs semver tslib rxjs reflect-metadata class-validator class-transformer typescript ts-node
		@types/node @types/express @types/lodash @types/jest jest jest-cli @jest/core @jest/reporters
		babel-jest @babel/core @babel/parser @babel/traverse @babel/generator @babel/types @babel/runtime
		@babel/preset-env @babel/helper-plugin-utils eslint @eslint/js @typescript-eslint/parser
		@typescript-eslint/eslint-plugin prettier webpack webpack-cli terser source-map source-map-support
		esbuild @esbuild/linux-x64 rollup vite postcss autoprefixer caniuse-lite browserslist electron-to-chromium
		core-js regenerator-runtime @aws-sdk/client-s3 @aws-sdk/client-sqs @aws-sdk/credential-providers
		@smithy/smithy-client @smithy/types @smithy/middleware-retry @google-cloud/storage googleapis
		firebase-admin @grpc/grpc-js protobufjs long sharp @img/sharp-linux-x64 canvas puppeteer-core
		nodemon chokidar anymatch picomatch braces fill-range to-regex-range micromatch fast-glob
		readable-stream safe-buffer string_decoder inherits iconv-lite qs raw-body http-errors statuses
		depd on-finished finalhandler send serve-static mime mime-types mime-db accepts negotiator
		escape-html etag fresh range-parser vary content-type content-disposition cookie cookie-signature
		path-to-regexp merge-descriptors methods parseurl proxy-addr forwarded ipaddr.js type-is media-typer`)
	npmFiles = []string{"package.json", "README.md", "LICENSE", "index.js", "CHANGELOG.md", "index.d.ts"}
	npmDirs  = []string{"lib", "dist", "dist/cjs", "dist/esm", "dist-types", "build", "src", "types", "esm", "cjs", "lib/internal", "dist-es", "dist-types/ts3.4/commands"}
	npmExts  = []string{".js", ".js", ".js", ".d.ts", ".mjs", ".cjs", ".js.map", ".json", ".ts", ".md"}
	srcDirs  = []string{"routes", "controllers", "services", "models", "middleware", "utils", "lib", "config", "types", "db/migrations", "jobs", "__tests__", "api/v1", "api/v2"}
	manSecs  = []string{"1", "1", "1", "3", "5", "7", "8"}
	manLangs = []string{"", "", "", "", "de/", "fr/", "ja/", "pl/", "ru/", "sv/", "pt_BR/"}
	docFiles = []string{"copyright", "copyright", "changelog.Debian.gz", "changelog.gz", "NEWS.Debian.gz", "README.Debian", "README.md", "TODO", "examples/", "html/"}
)

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func ver(r *rand.Rand) string {
	return fmt.Sprintf("%d.%d.%d", r.IntN(12), r.IntN(30), r.IntN(20))
}

func aptLists(extra ...string) group {
	names := []string{
		"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
		"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
		"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm-updates_InRelease",
		"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages",
		"var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_InRelease",
		"var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages",
	}
	return group{weight: 3, kind: kindText, names: append(names, extra...)}
}

func debCache(weight float64, pkgs []string) group {
	return group{weight: weight, mean: 600 << 10, kind: kindRandom, name: func(r *rand.Rand) string {
		return fmt.Sprintf("var/cache/apt/archives/%s_%s-%d_amd64.deb", pick(r, pkgs), ver(r), 1+r.IntN(3))
	}}
}

func docs(weight float64, pkgs []string) group {
	return group{weight: weight, mean: 6 << 10, kind: kindText, name: func(r *rand.Rand) string {
		f := pick(r, docFiles)
		switch f {
		case "examples/":
			f += pick(r, words) + pick(r, []string{".c", ".sh", ".pl", ".py", ".conf"})
		case "html/":
			f += pick(r, words) + ".html"
		}
		return "usr/share/doc/" + pick(r, pkgs) + "/" + f
	}}
}

func manPages(weight float64, names []string) group {
	return group{weight: weight, mean: 5 << 10, kind: kindRandom, name: func(r *rand.Rand) string {
		s := pick(r, manSecs)
		return fmt.Sprintf("usr/share/man/%sman%s/%s.%s.gz", pick(r, manLangs), s, pick(r, names), s)
	}}
}

func aptDirs() []entry {
	return []entry{
		dir("var/cache/apt/archives/partial", dirMode("var/cache/apt/archives/partial")),
		dir("var/lib/apt/lists/partial", dirMode("var/lib/apt/lists/partial")),
		text("var/cache/apt/archives/lock", 0o640, ""),
		text("var/lib/apt/lists/lock", 0o640, ""),
	}
}

// scaled returns a size that is frac of total, at least floor.
func scaled(total int64, frac float64, floor int64) int64 {
	return max(int64(float64(total)*frac), floor)
}

const (
	passwd    = "root:x:0:0:root:/root:/bin/bash\n"
	groupFile = "root:x:0:\n"
	shadow    = "root:*:19716:0:99999:7:::\n"
	osRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`
	dotEnv = `# local development settings -- NOT for production (this is a generated test fixture)
NODE_ENV=development
PORT=3000
DATABASE_URL=postgres://api:example-password-not-real@db:5432/api
JWT_SECRET=fixture-jwt-secret-0000000000000000000000000000
STRIPE_API_KEY=fixture_stripe_key_not_a_real_secret
`
	packageJSON = `{
  "name": "acme-api",
  "version": "1.4.2",
  "private": true,
  "main": "dist/server.js",
  "scripts": {
    "build": "tsc -p tsconfig.json",
    "start": "node dist/server.js",
    "test": "jest"
  },
  "dependencies": {
    "express": "^4.18.2",
    "pg": "^8.11.3",
    "ioredis": "^5.3.2",
    "jsonwebtoken": "^9.0.2",
    "zod": "^3.22.4",
    "pino": "^8.17.2",
    "sharp": "^0.33.2",
    "@aws-sdk/client-s3": "^3.490.0"
  },
  "devDependencies": {
    "typescript": "^5.3.3",
    "@types/node": "^20.11.0",
    "@types/express": "^4.17.21",
    "jest": "^29.7.0",
    "ts-node": "^10.9.2",
    "eslint": "^8.56.0",
    "prettier": "^3.2.2"
  }
}
`
	tsconfig = `{
  "compilerOptions": {
    "target": "ES2022",
    "module": "commonjs",
    "outDir": "dist",
    "rootDir": "src",
    "strict": true,
    "esModuleInterop": true,
    "sourceMap": true
  },
  "include": ["src"]
}
`
	dockerfile = `FROM debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends build-essential python3 git ca-certificates curl
RUN curl -fsSL https://deb.nodesource.com/setup_20.x | bash - && apt-get install -y nodejs
ENV NODE_VERSION=20.11.1
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install
COPY . .
RUN npm run build && rm -rf /tmp/npm-build-cache
EXPOSE 3000
CMD ["node", "dist/server.js"]
`
	gitConfig = `[core]
	repositoryformatversion = 0
	filemode = true
	bare = false
[remote "origin"]
	url = git@git.example.com:acme/api.git
	fetch = +refs/heads/*:refs/remotes/origin/*
[branch "main"]
	remote = origin
	merge = refs/heads/main
`
	// longAsset is a file name longer than 100 bytes on its own, so that its
	// tar header needs a PAX record whatever the directory.
	longAsset = "vendors-node_modules_aws-sdk_client-s3_dist-es_index_js-node_modules_smithy_util-retry_dist-es_index_js.4f9a2c1e8b7d6035.chunk.js"
)

// History entries of instructions that made no layer, keyed by the index of
// the layer they come after (-1: before the first).
var emptyHistory = map[int][]string{
	0: {`/bin/sh -c #(nop)  CMD ["bash"]`},
	2: {"ENV NODE_VERSION=20.11.1", "WORKDIR /app"},
	6: {"EXPOSE map[3000/tcp:{}]", `CMD ["node" "dist/server.js"]`},
}

// specs describes the layers of a single-stage Node.js image built on Debian
// with a C toolchain, from the bottom up.
func specs() []layerSpec {
	return []layerSpec{
		{
			createdBy: "/bin/sh -c #(nop) ADD file:5b1e4bbd1e4f0e3e4d3c3f3a0b1f0f5d2c6a4c0e8c2c2fb2c2c7b4c2d9d1a0e1 in / ",
			fixed: func(r *rand.Rand, total int64) []entry {
				return append(aptDirs(),
					symlink("bin", "usr/bin"), symlink("lib", "usr/lib"), symlink("lib64", "usr/lib64"), symlink("sbin", "usr/sbin"),
					dir("tmp", 0o1777), dir("root", 0o700), dir("var/tmp", 0o1777), dir("home", 0o755), dir("proc", 0o555), dir("sys", 0o555),
					text("etc/passwd", 0o644, passwd), text("etc/group", 0o644, groupFile), text("etc/shadow", 0o640, shadow),
					text("etc/hostname", 0o644, "buildkitsandbox\n"), text("etc/debian_version", 0o644, "12.4\n"),
					text("usr/lib/os-release", 0o644, osRelease), symlink("etc/os-release", "../usr/lib/os-release"),
					text("etc/apt/sources.list.d/debian.sources", 0o644, "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"),
					symlink("usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
					file("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0o755, 210<<10, kindBinary),
					file("usr/lib/x86_64-linux-gnu/libc.so.6", 0o755, scaled(total, 0.002, 64<<10), kindBinary),
					// setuid binaries, as in every Debian base image
					file("usr/bin/su", 0o4755, 72<<10, kindBinary),
					file("usr/bin/passwd", 0o4755, 68<<10, kindBinary),
					file("usr/bin/chsh", 0o4755, 52<<10, kindBinary),
					// Debian ships perl and perl5.36.0 as hard links of one file
					file("usr/bin/perl", 0o755, scaled(total, 0.003, 32<<10), kindBinary),
					hardlink("usr/bin/perl5.36.0", "usr/bin/perl", 0o755),
					file("var/cache/apt/pkgcache.bin", 0o644, scaled(total, 0.004, 16<<10), kindBinary),
					file("var/cache/apt/srcpkgcache.bin", 0o644, scaled(total, 0.004, 16<<10), kindBinary),
				)
			},
			groups: []group{
				{weight: 9, mean: 300 << 10, kind: kindBinary, name: func(r *rand.Rand) string {
					return fmt.Sprintf("usr/lib/x86_64-linux-gnu/lib%s%s.so.%s", pick(r, libStems), pick(r, libSuffixes), ver(r))
				}, extra: func(n string) []entry { // soname symlink: libfoo.so.1 -> libfoo.so.1.2.3
					base := n[strings.LastIndexByte(n, '/')+1:]
					so := base[:strings.Index(base, ".so.")+4] + strings.Split(base[strings.Index(base, ".so.")+4:], ".")[0]
					return []entry{symlink(n[:len(n)-len(base)]+so, base)}
				}},
				{weight: 3, mean: 160 << 10, kind: kindBinary, mode: 0o755, name: func(r *rand.Rand) string {
					if r.IntN(4) == 0 {
						return "usr/sbin/" + pick(r, sbinNames)
					}
					return "usr/bin/" + pick(r, binNames)
				}},
				{weight: 3, mean: 12 << 10, kind: kindText, name: func(r *rand.Rand) string {
					switch r.IntN(3) {
					case 0:
						return fmt.Sprintf("usr/share/perl5/%s/%s.pm", capitalize(pick(r, words)), capitalize(pick(r, words)))
					case 1:
						return fmt.Sprintf("usr/lib/x86_64-linux-gnu/perl-base/%s/%s.pm", capitalize(pick(r, words)), capitalize(pick(r, words)))
					}
					return fmt.Sprintf("usr/share/%s/%s.%s", pick(r, debPkgs), pick(r, words), pick(r, []string{"conf", "txt", "sh", "dat"}))
				}},
				docs(1.5, debPkgs),
				manPages(1, append(binNames, sbinNames...)),
				aptLists(),
				debCache(3.5, debPkgs),
			},
		},
		{
			createdBy: "RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends build-essential python3 git ca-certificates curl # buildkit",
			fixed: func(r *rand.Rand, total int64) []entry {
				return append(aptDirs(),
					file("usr/bin/gcc-12", 0o755, scaled(total, 0.001, 32<<10), kindBinary),
					file("usr/bin/g++-12", 0o755, scaled(total, 0.001, 32<<10), kindBinary),
					file("usr/bin/cpp-12", 0o755, scaled(total, 0.001, 32<<10), kindBinary),
					symlink("usr/bin/gcc", "gcc-12"), symlink("usr/bin/g++", "g++-12"), symlink("usr/bin/cpp", "cpp-12"),
					symlink("usr/bin/cc", "/etc/alternatives/cc"), symlink("etc/alternatives/cc", "/usr/bin/gcc"),
					symlink("usr/bin/python3", "python3.11"),
					file("usr/bin/git", 0o755, scaled(total, 0.003, 64<<10), kindBinary),
					// git's sub-commands are hard links of the git binary
					hardlink("usr/lib/git-core/git", "usr/bin/git", 0o755),
					hardlink("usr/lib/git-core/git-add", "usr/bin/git", 0o755),
					hardlink("usr/lib/git-core/git-commit", "usr/bin/git", 0o755),
					hardlink("usr/lib/git-core/git-status", "usr/bin/git", 0o755),
					hardlink("usr/lib/git-core/git-upload-pack", "usr/bin/git", 0o755),
				)
			},
			groups: []group{
				{weight: 8, mean: 6 << 20, kind: kindBinary, mode: 0o755, name: func(r *rand.Rand) string {
					return "usr/lib/gcc/x86_64-linux-gnu/12/" + pick(r, []string{"cc1", "cc1plus", "lto1", "collect2", "lto-wrapper",
						"liblto_plugin.so", "libgcc.a", "libgcc_eh.a", "libstdc++.a", "libsupc++.a", "libasan.a", "libtsan.a",
						"libubsan.a", "liblsan.a", "libgomp.a", "libitm.a", "libquadmath.a", "libatomic.a", "libstdc++fs.a", "libasan_preinit.o"})
				}},
				{weight: 2, mean: 1 << 20, kind: kindBinary, mode: 0o755, name: func(r *rand.Rand) string {
					return "usr/bin/" + pick(r, []string{"x86_64-linux-gnu-as", "x86_64-linux-gnu-ld.bfd", "x86_64-linux-gnu-ld.gold",
						"x86_64-linux-gnu-objdump", "x86_64-linux-gnu-readelf", "x86_64-linux-gnu-strip", "x86_64-linux-gnu-ar",
						"x86_64-linux-gnu-nm", "x86_64-linux-gnu-gprof", "x86_64-linux-gnu-dwp", "make", "python3.11", "gcov-12",
						"gcov-dump-12", "lto-dump-12", "dpkg-buildpackage", "dpkg-source", "curl", "openssl"})
				}},
				{weight: 3, mean: 12 << 10, kind: kindText, name: func(r *rand.Rand) string {
					return "usr/include/" + pick(r, []string{"", "x86_64-linux-gnu/bits/", "x86_64-linux-gnu/sys/", "linux/", "asm-generic/",
						"c++/12/", "c++/12/bits/", "c++/12/ext/", "python3.11/", "openssl/", "netinet/", "arpa/", "rpc/"}) + pick(r, words) + ".h"
				}},
				{weight: 3, mean: 15 << 10, kind: kindText, name: func(r *rand.Rand) string {
					return fmt.Sprintf("usr/lib/python3.11/%s/%s.py", pick(r, []string{"", "asyncio", "email", "json", "http", "urllib",
						"unittest", "xml/dom", "xml/etree", "logging", "concurrent/futures", "importlib", "encodings", "lib2to3", "multiprocessing"}), pick(r, words))
				}},
				docs(0.5, devPkgs),
				manPages(0.5, devPkgs),
				aptLists(),
				debCache(3, devPkgs),
			},
		},
		{
			createdBy: "RUN /bin/sh -c curl -fsSL https://deb.nodesource.com/setup_20.x | bash - && apt-get install -y nodejs # buildkit",
			fixed: func(r *rand.Rand, total int64) []entry {
				return append(aptDirs(),
					file("usr/bin/node", 0o755, scaled(total, 0.04, 256<<10), kindELF),
					text("usr/lib/node_modules/npm/bin/npm-cli.js", 0o755, "#!/usr/bin/env node\nrequire('../lib/cli.js')(process)\n"),
					symlink("usr/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js"),
					symlink("usr/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js"),
					symlink("usr/bin/corepack", "../lib/node_modules/corepack/dist/corepack.js"),
					text("etc/apt/sources.list.d/nodesource.list", 0o644, "deb [signed-by=/usr/share/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main\n"),
				)
			},
			groups: []group{
				{weight: 2.5, mean: 8 << 10, kind: kindText, name: func(r *rand.Rand) string {
					return fmt.Sprintf("usr/lib/node_modules/%s/%s%s", pick(r, []string{"npm/lib", "npm/lib/commands", "npm/lib/utils",
						"npm/docs/content/commands", "npm/node_modules/" + pick(r, npmPkgs) + "/lib", "corepack/dist"}), pick(r, words), pick(r, []string{".js", ".js", ".md", ".json"}))
				}},
				{weight: 0.5, mean: 14 << 10, kind: kindText, name: func(r *rand.Rand) string {
					return "usr/include/node/" + pick(r, []string{"", "openssl/", "uv/", "cppgc/", "libplatform/"}) + pick(r, words) + ".h"
				}},
				docs(0.3, []string{"nodejs"}),
				manPages(0.1, []string{"node", "npm", "npx", "npm-install", "npm-run-script", "package-json"}),
				aptLists("var/lib/apt/lists/deb.nodesource.com_node%5f20.x_dists_nodistro_main_binary-amd64_Packages"),
			},
		},
		{
			createdBy: "COPY package.json package-lock.json ./ # buildkit",
			fixed: func(r *rand.Rand, total int64) []entry {
				return []entry{
					text("app/package.json", 0o644, packageJSON),
					text("app/package-lock.json", 0o644, packageLock()),
				}
			},
		},
		{
			createdBy: "RUN /bin/sh -c npm install # buildkit",
			// npm-installed trees have deep paths; this layer uses GNU long
			// names for them (like some builders) where the others use PAX.
			format: tar.FormatGNU,
			fixed: func(r *rand.Rand, total int64) []entry {
				return []entry{
					symlink("app/node_modules/.bin/tsc", "../typescript/bin/tsc"),
					symlink("app/node_modules/.bin/jest", "../jest/bin/jest.js"),
					symlink("app/node_modules/.bin/eslint", "../eslint/bin/eslint.js"),
					symlink("app/node_modules/.bin/semver", "../semver/bin/semver.js"),
					symlink("app/node_modules/.bin/uuid", "../uuid/dist/bin/uuid"),
					text("app/node_modules/.package-lock.json", 0o644, "{\n  \"name\": \"acme-api\",\n  \"lockfileVersion\": 3\n}\n"),
					// a dependency installed from git keeps its .git directory
					text("app/node_modules/legacy-utils/package.json", 0o644, "{\"name\":\"legacy-utils\",\"version\":\"0.3.1\"}\n"),
					text("app/node_modules/legacy-utils/index.js", 0o644, "module.exports = require('./lib/utils');\n"),
					text("app/node_modules/legacy-utils/.git/HEAD", 0o644, "ref: refs/heads/master\n"),
					file("app/node_modules/legacy-utils/.git/objects/pack/pack-3f9c2a7be1d04c5a8e6f7b2d9c0a1e3f5b7d9c2e.pack", 0o444, scaled(total, 0.001, 16<<10), kindRandom),
					file("app/node_modules/sharp/build/Release/sharp-linux-x64.node", 0o755, scaled(total, 0.003, 64<<10), kindBinary),
					file("app/node_modules/@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.42", 0o755, scaled(total, 0.012, 64<<10), kindBinary),
					file("app/node_modules/@esbuild/linux-x64/bin/esbuild", 0o755, scaled(total, 0.008, 64<<10), kindBinary),
					text("root/.npm/_logs/2024-01-01T00_02_00_000Z-debug-0.log", 0o644, "0 verbose cli /usr/bin/node /usr/bin/npm\n1 info using npm@10.2.4\n2 info using node@v20.11.1\n"),
				}
			},
			groups: []group{
				{weight: 34, mean: 9 << 10, kind: kindText, name: func(r *rand.Rand) string {
					pkg := "app/node_modules/" + pick(r, npmPkgs)
					if r.IntN(6) == 0 { // nested dependency with its own version
						pkg += "/node_modules/" + pick(r, npmPkgs)
					}
					if r.IntN(4) == 0 {
						return pkg + "/" + pick(r, npmFiles)
					}
					return fmt.Sprintf("%s/%s/%s%s", pkg, pick(r, npmDirs), pick(r, words), pick(r, npmExts))
				}},
				{weight: 7.5, mean: 40 << 10, kind: kindRandom, name: func(r *rand.Rand) string {
					return fmt.Sprintf("root/.npm/_cacache/content-v2/sha512/%s/%s/%s", hexString(r, 2), hexString(r, 2), hexString(r, 124))
				}},
				{weight: 1, mean: 800, kind: kindText, name: func(r *rand.Rand) string {
					return fmt.Sprintf("root/.npm/_cacache/index-v5/%s/%s/%s", hexString(r, 2), hexString(r, 2), hexString(r, 60))
				}},
				{weight: 0.5, mean: 20 << 10, kind: kindText, name: func(r *rand.Rand) string {
					return fmt.Sprintf("tmp/npm-build-cache/%s/%s.js", hexString(r, 8), pick(r, words))
				}},
			},
		},
		{
			createdBy: "COPY . . # buildkit",
			fixed: func(r *rand.Rand, total int64) []entry {
				return []entry{
					text("app/.env", 0o600, dotEnv),
					text("app/package.json", 0o644, packageJSON),
					text("app/tsconfig.json", 0o644, tsconfig),
					text("app/Dockerfile", 0o644, dockerfile),
					text("app/.gitignore", 0o644, "node_modules/\ndist/\n.env\n"),
					text("app/README.md", 0o644, "# acme-api\n\nHTTP API for ACME. `npm run build && npm start`.\n"),
					text("app/.git/HEAD", 0o644, "ref: refs/heads/main\n"),
					text("app/.git/config", 0o644, gitConfig),
					text("app/.git/refs/heads/main", 0o644, "9c1f3e7a2b4d6c8e0f1a3b5c7d9e1f2a4b6c8d0e\n"),
					file("app/.git/index", 0o644, scaled(total, 0.001, 8<<10), kindBinary),
					text("app/.git/hooks/pre-commit.sample", 0o755, "#!/bin/sh\nexec git diff-index --check --cached HEAD --\n"),
					// a hard link from a kept path to a file in a removed one
					text("app/src/generated/schema.json", 0o644, "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\"}\n"),
					hardlink("app/static/schema.json", "app/src/generated/schema.json", 0o644),
					text("app/dist/server.js", 0o644, "// stale local build, replaced by npm run build\n"),
				}
			},
			groups: []group{
				{weight: 3, mean: 5 << 10, kind: kindText, name: func(r *rand.Rand) string {
					return fmt.Sprintf("app/src/%s/%s%s.ts", pick(r, srcDirs), pick(r, words), capitalize(pick(r, words)))
				}},
				{weight: 0.5, mean: 6 << 10, kind: kindText, name: func(r *rand.Rand) string {
					return fmt.Sprintf("app/test/%s.test.ts", pick(r, words))
				}},
				{weight: 1, mean: 2 << 10, kind: kindRandom, name: func(r *rand.Rand) string {
					return fmt.Sprintf("app/.git/objects/%s/%s", hexString(r, 2), hexString(r, 38))
				}},
				{weight: 2.5, mean: 8 << 20, kind: kindRandom, mode: 0o444, name: func(r *rand.Rand) string {
					return fmt.Sprintf("app/.git/objects/pack/pack-%s.pack", hexString(r, 40))
				}},
				{weight: 0.3, mean: 10 << 10, kind: kindText, name: func(r *rand.Rand) string {
					return fmt.Sprintf("app/dist/%s/%s.js", pick(r, srcDirs), pick(r, words))
				}},
			},
		},
		{
			createdBy: "RUN /bin/sh -c npm run build && rm -rf /tmp/npm-build-cache # buildkit",
			fixed: func(r *rand.Rand, total int64) []entry {
				return []entry{
					// tsc cleaned dist/ and wrote it anew: opaque directory
					dir("app/dist", 0o755),
					opaque("app/dist"),
					whiteout("tmp/npm-build-cache"),
					file("app/dist/server.js", 0o644, scaled(total, 0.004, 16<<10), kindText),
					hardlink("app/dist/start.js", "app/dist/server.js", 0o644),
					symlink("app/dist/main.js", "server.js"),
					file("app/dist/bin/healthcheck", 0o4755, 64<<10, kindBinary),
					symlink("usr/local/bin/healthcheck", "/app/dist/bin/healthcheck"),
					file("app/dist/assets/"+longAsset, 0o644, scaled(total, 0.001, 8<<10), kindText),
					symlink("app/dist/assets/vendor.latest.js", "/app/dist/assets/"+longAsset),
					text("root/.npm/_logs/2024-01-01T00_05_00_000Z-debug-0.log", 0o644, "0 verbose cli /usr/bin/node /usr/bin/npm\n1 info using npm@10.2.4\n2 verbose title npm run build\n"),
				}
			},
			groups: []group{
				{weight: 11, mean: 20 << 10, kind: kindText, name: func(r *rand.Rand) string {
					return fmt.Sprintf("app/dist/%s/%s%s", pick(r, srcDirs), pick(r, words), pick(r, []string{".js", ".js.map", ".d.ts"}))
				}},
			},
		},
	}
}

// devNpmPkgs are the packages of npmPkgs the lockfile marks dev-only, as
// npm marks a project's build and test tools.
var devNpmPkgs = regexp.MustCompile(`^(typescript|ts-node|@types/.*|jest.*|@jest/.*|babel-jest|@babel/.*|eslint|@eslint/.*|@typescript-eslint/.*|prettier|webpack.*|terser|esbuild|@esbuild/.*|rollup|vite|postcss|autoprefixer|nodemon|puppeteer-core)$`)

// packageLock returns a package-lock.json (lockfile version 3) for the
// packages the npm layer installs, with npm's "dev" flags.
func packageLock() string {
	var b strings.Builder
	b.WriteString("{\n  \"name\": \"acme-api\",\n  \"version\": \"1.4.2\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {\n    \"\": {\n      \"name\": \"acme-api\",\n      \"version\": \"1.4.2\"\n    }")
	for _, p := range npmPkgs {
		dev := ""
		if devNpmPkgs.MatchString(p) {
			dev = ",\n      \"dev\": true"
		}
		fmt.Fprintf(&b, ",\n    \"node_modules/%s\": {\n      \"version\": \"1.0.0\"%s\n    }", p, dev)
	}
	b.WriteString("\n  }\n}\n")
	return b.String()
}
