package dockertest

// Fixture images of interpreted and runtime-hosted apps for scratch mode,
// each single-stage (toolchain, sources and caches left in), with the
// multi-stage image a careful team would ship for comparison: the base
// image plus the runtime package, and the app. Every server listens on
// 127.0.0.1 at $PORT, answers HealthPath with "ok" and "/" with JSON
// holding "uid".
//
//   - JavaApp: a jar built by Debian's default-jdk-headless, run with
//     `java -jar`, its manifest's Class-Path naming a second jar;
//   - ShellApp: a #!/bin/sh entrypoint that sources a config file and
//     execs socat, which runs a handler script calling coreutils;
//   - RubyApp: Sinatra on WEBrick with nokogiri (a C extension), from
//     Debian's packages, started by `bundle exec`;
//   - PerlApp: a Perl server using JSON::PP, POSIX and a module of its own;
//   - CapApp: a C server given cap_net_bind_service by setcap, bound to
//     the privileged port CapAppPort;
//   - PhpApp: a PHP app on PHP's built-in server (`php -S ADDR index.php`,
//     a router script), using the mbstring and sqlite3 extensions.

import (
	"strconv"
	"testing"
)

// The runtime fixtures' tags and ports.
const (
	JavaAppTag            = "imgslim-test/java-app:1"
	JavaMultiStageTag     = "imgslim-test/java-multistage:1"
	JavaAppPort           = 18093
	JavaJar               = "/usr/local/lib/svc/svc.jar"
	ShellAppTag           = "imgslim-test/shell-app:1"
	ShellMultiStageTag    = "imgslim-test/shell-multistage:1"
	ShellAppPort          = 18094
	RubyAppTag            = "imgslim-test/ruby-app:1"
	RubyMultiStageTag     = "imgslim-test/ruby-multistage:1"
	RubyAppPort           = 18095
	PerlAppTag            = "imgslim-test/perl-app:1"
	PerlMultiStageTag     = "imgslim-test/perl-multistage:1"
	PerlAppPort           = 18096
	CapAppTag             = "imgslim-test/cap-app:1"
	CapMultiStageTag      = "imgslim-test/cap-multistage:1"
	CapAppPort            = 981 // below 1024: binding it needs CAP_NET_BIND_SERVICE
	PhpAppTag             = "imgslim-test/php-app:1"
	PhpMultiStageTag      = "imgslim-test/php-multistage:1"
	PhpAppPort            = 18097
	aptInstall            = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
	aptInstallNoRecommend = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
)

// javaMain is JavaApp's server. At startup it reads the default trust
// store (cacerts, through lib/security) and fails without CAs; "/" reports
// the uid through jdk.security.auth (which loads libjaas.so) and a
// greeting from the jar its manifest's Class-Path names.
const javaMain = `package svc;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

public class Main {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "18093"));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((KeyStore) null);
        int cas = ((X509TrustManager) tmf.getTrustManagers()[0]).getAcceptedIssuers().length;
        if (cas == 0) {
            System.err.println("FATAL: no CA certificates in the default trust store");
            System.exit(1);
        }
        long uid = new com.sun.security.auth.module.UnixSystem().getUid();
        String root = "{\"app\":\"java-app\",\"uid\":" + uid + ",\"cas\":" + cas
                + ",\"greeting\":\"" + greet.Greeter.hello() + "\",\"java\":\"" + System.getProperty("java.version") + "\"}\n";
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 0);
        s.createContext("/health", ex -> reply(ex, "ok\n"));
        s.createContext("/", ex -> reply(ex, root));
        s.start();
        System.out.println("java-app listening on http://127.0.0.1:" + port + " (" + cas + " CAs)");
    }

    static void reply(HttpExchange ex, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(200, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }
}
`

// JavaApp returns JavaAppTag and its port, building it when missing or
// stale: default-jdk-headless, the sources in /src, the jars in
// /usr/local/lib/svc.
func JavaApp(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	ensureImage(t, recipe{
		tag:  JavaAppTag,
		from: base,
		files: map[string][]byte{
			"src/svc/Main.java":      []byte(javaMain),
			"src/greet/Greeter.java": []byte("package greet;\n\npublic class Greeter {\n    public static String hello() { return \"hello from greet.jar\"; }\n}\n"),
			"src/manifest.txt":       []byte("Main-Class: svc.Main\nClass-Path: lib/greet.jar\n"),
		},
		dockerfile: `FROM ` + base + `
RUN ` + aptInstall + `default-jdk-headless
WORKDIR /src
COPY src/ .
RUN mkdir -p out/greet out/svc /usr/local/lib/svc/lib \
 && javac -d out/greet greet/Greeter.java && jar cf /usr/local/lib/svc/lib/greet.jar -C out/greet . \
 && javac -cp out/greet -d out/svc svc/Main.java && jar cfm ` + JavaJar + ` manifest.txt -C out/svc .
ENV PORT=` + strconv.Itoa(JavaAppPort) + `
CMD ["java", "-jar", "` + JavaJar + `"]
`,
	})
	return JavaAppTag, JavaAppPort
}

// JavaMultiStage is JavaApp's jars on the base image with Debian's
// headless JRE.
func JavaMultiStage(t testing.TB) string {
	t.Helper()
	base := BaseImage(t)
	from, _ := JavaApp(t)
	ensureImage(t, recipe{
		tag:  JavaMultiStageTag,
		from: from,
		dockerfile: `FROM ` + from + ` AS build
FROM ` + base + `
RUN ` + aptInstallNoRecommend + `default-jre-headless && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/lib/svc /usr/local/lib/svc
ENV PORT=` + strconv.Itoa(JavaAppPort) + `
CMD ["java", "-jar", "` + JavaJar + `"]
`,
	})
	return JavaMultiStageTag
}

// The shell service: start.sh sources its configuration and execs socat,
// which runs handler.sh for every connection; the handler calls id, uname,
// wc, tr and date.
const (
	shellStart = `#!/bin/sh
set -eu
. /app/lib/config.sh
echo "shell-app listening on http://127.0.0.1:$PORT ($GREETING)"
exec socat TCP-LISTEN:"$PORT",bind=127.0.0.1,reuseaddr,fork EXEC:/app/handler.sh
`
	shellConfig  = ": \"${PORT:=18094}\"\nGREETING=\"hello from sh\"\nexport GREETING\n"
	shellHandler = `#!/bin/sh
read -r method target rest
while read -r line; do
	line=$(printf '%s' "$line" | tr -d '\r')
	[ -z "$line" ] && break
done
case "$target" in
/health) body="ok" ;;
/) body=$(printf '{"app":"shell-app","uid":%s,"gid":%s,"kernel":"%s","words":%s,"year":"%s","greeting":"%s"}' \
	"$(id -u)" "$(id -g)" "$(uname -s)" "$(echo a b c | wc -w)" "$(date -u +%Y)" "$GREETING") ;;
*) body="not found" ;;
esac
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s\n' "$((${#body} + 1))" "$body"
`
)

// ShellApp returns ShellAppTag and its port, building it when missing or
// stale.
func ShellApp(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	ensureImage(t, recipe{
		tag:  ShellAppTag,
		from: base,
		files: map[string][]byte{
			"app/start.sh":      []byte(shellStart),
			"app/handler.sh":    []byte(shellHandler),
			"app/lib/config.sh": []byte(shellConfig),
			"app/README.md":     []byte("# shell-app\n\nsocat runs handler.sh for every connection.\n"),
		},
		dockerfile: `FROM ` + base + `
RUN ` + aptInstall + `socat curl
WORKDIR /app
COPY app/ .
RUN chmod 0755 start.sh handler.sh
ENV PORT=` + strconv.Itoa(ShellAppPort) + `
CMD ["/app/start.sh"]
`,
	})
	return ShellAppTag, ShellAppPort
}

// ShellMultiStage is ShellApp's scripts on the base image with socat.
func ShellMultiStage(t testing.TB) string {
	t.Helper()
	base := BaseImage(t)
	from, _ := ShellApp(t)
	ensureImage(t, recipe{
		tag:  ShellMultiStageTag,
		from: from,
		dockerfile: `FROM ` + from + ` AS build
FROM ` + base + `
RUN ` + aptInstallNoRecommend + `socat && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/start.sh /app/handler.sh /app/
COPY --from=build /app/lib /app/lib
ENV PORT=` + strconv.Itoa(ShellAppPort) + `
CMD ["/app/start.sh"]
`,
	})
	return ShellMultiStageTag
}

// perlServer is PerlApp's server, with a module of its own in /app/lib.
const perlServer = `use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(strftime);
use Greeting;

my $port = $ENV{PORT} || 18096;
my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 16, ReuseAddr => 1, Proto => 'tcp')
  or die "FATAL: listen on $port: $!";
$| = 1;
print "perl-app listening on http://127.0.0.1:$port\n";
while (my $c = $s->accept) {
	my $req = <$c> // '';
	my (undef, $path) = split / /, $req;
	while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
	my $body = ($path // '') eq '/health' ? "ok\n"
	  : JSON::PP->new->canonical->encode({app => 'perl-app', uid => $< + 0, gid => $( + 0,
		greeting => Greeting::hello(), year => strftime('%Y', gmtime)}) . "\n";
	print $c "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
	close $c;
}
`

// PerlApp returns PerlAppTag and its port, building it when missing or
// stale.
func PerlApp(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	ensureImage(t, recipe{
		tag:  PerlAppTag,
		from: base,
		files: map[string][]byte{
			"app/server.pl":       []byte(perlServer),
			"app/lib/Greeting.pm": []byte("package Greeting;\nuse strict;\nuse warnings;\n\nsub hello { return 'hello from perl' }\n\n1;\n"),
			"app/t/basic.t":       []byte("use Test::More tests => 1;\nuse lib 'lib';\nuse Greeting;\nis(Greeting::hello(), 'hello from perl');\n"),
		},
		dockerfile: `FROM ` + base + `
RUN ` + aptInstall + `perl make
WORKDIR /app
COPY app/ .
RUN prove -l t
ENV PORT=` + strconv.Itoa(PerlAppPort) + `
CMD ["perl", "/app/server.pl"]
`,
	})
	return PerlAppTag, PerlAppPort
}

// PerlMultiStage is PerlApp's app on the base image with perl.
func PerlMultiStage(t testing.TB) string {
	t.Helper()
	base := BaseImage(t)
	from, _ := PerlApp(t)
	ensureImage(t, recipe{
		tag:  PerlMultiStageTag,
		from: from,
		dockerfile: `FROM ` + from + ` AS build
FROM ` + base + `
RUN ` + aptInstallNoRecommend + `perl && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/server.pl /app/
COPY --from=build /app/lib /app/lib
ENV PORT=` + strconv.Itoa(PerlAppPort) + `
CMD ["perl", "/app/server.pl"]
`,
	})
	return PerlMultiStageTag
}

// capServer binds 127.0.0.1:$PORT, which needs CAP_NET_BIND_SERVICE below
// 1024 when not root, and answers like the other fixtures.
const capServer = `#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
	const char *p = getenv("PORT");
	int port = p ? atoi(p) : 981;
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0) {
		perror("FATAL: bind");
		return 1;
	}
	printf("cap-app listening on http://127.0.0.1:%d as uid %d\n", port, (int)getuid());
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		char req[2048], path[256] = "", body[256], out[512];
		ssize_t n = read(c, req, sizeof req - 1);
		req[n > 0 ? n : 0] = 0;
		sscanf(req, "%*s %255s", path);
		if (strcmp(path, "/health") == 0)
			snprintf(body, sizeof body, "ok\n");
		else
			snprintf(body, sizeof body, "{\"app\":\"cap-app\",\"uid\":%d,\"gid\":%d,\"port\":%d}\n", (int)getuid(), (int)getgid(), port);
		int m = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(body), body);
		if (write(c, out, (size_t)m) < 0)
			perror("write");
		close(c);
	}
}
`

// CapApp returns CapAppTag and its port, building it when missing or
// stale: /app/server, compiled in the image, with the file capability
// cap_net_bind_service=ep.
func CapApp(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	ensureImage(t, recipe{
		tag:   CapAppTag,
		from:  base,
		files: map[string][]byte{"src/server.c": []byte(capServer)},
		dockerfile: `FROM ` + base + `
RUN ` + aptInstall + `gcc libc6-dev libcap2-bin
WORKDIR /app
COPY src/ .
RUN gcc -O2 -Wall -o /app/server server.c && setcap cap_net_bind_service=+ep /app/server && getcap /app/server
ENV PORT=` + strconv.Itoa(CapAppPort) + `
CMD ["/app/server"]
`,
	})
	return CapAppTag, CapAppPort
}

// CapMultiStage is CapApp's server on the base image, given its capability
// again (COPY drops extended attributes).
func CapMultiStage(t testing.TB) string {
	t.Helper()
	base := BaseImage(t)
	from, _ := CapApp(t)
	ensureImage(t, recipe{
		tag:  CapMultiStageTag,
		from: from,
		dockerfile: `FROM ` + from + ` AS build
FROM ` + base + `
COPY --from=build /app/server /app/server
COPY --from=build /usr/sbin/setcap /usr/sbin/setcap
COPY --from=build /usr/lib/x86_64-linux-gnu/libcap.so.2* /usr/lib/x86_64-linux-gnu/
RUN setcap cap_net_bind_service=+ep /app/server && rm /usr/sbin/setcap
ENV PORT=` + strconv.Itoa(CapAppPort) + `
CMD ["/app/server"]
`,
	})
	return CapMultiStageTag
}

// rubyApp is RubyApp's app.rb: Sinatra on WEBrick, nokogiri (a C
// extension) parsing the greeting.
const rubyApp = `require "sinatra/base"
require "nokogiri"
require "json"
require_relative "lib/greeting"

class App < Sinatra::Base
  set :bind, "127.0.0.1"
  set :port, ENV.fetch("PORT", "18095").to_i
  set :server, "webrick"
  set :environment, :production

  get("/health") { "ok\n" }

  get("/") do
    content_type :json
    doc = Nokogiri::XML("<g>#{Greeting.text}</g>")
    JSON.generate(app: "ruby-app", uid: Process.uid, gid: Process.gid, greeting: doc.root.text,
                  nokogiri: Nokogiri::VERSION, ruby: RUBY_VERSION) + "\n"
  end
end

puts "ruby-app listening on http://127.0.0.1:#{App.port}"
App.run!
`

// rubyGemfile lists a test group too: bundle exec checks every group's
// gems are installed.
const rubyGemfile = `source "https://rubygems.org"

gem "sinatra"
gem "webrick"
gem "nokogiri"

group :test do
  gem "rack-test"
end
`

// rubyPackages are the Debian packages of the app's gems.
const rubyPackages = "ruby ruby-bundler ruby-sinatra ruby-webrick ruby-nokogiri ruby-rack-test"

// RubyApp returns RubyAppTag and its port, building it when missing or
// stale: the gems from Debian's packages, locked with `bundle lock --local`
// (rubygems.org is out of reach), run by `bundle exec ruby app.rb`.
func RubyApp(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	ensureImage(t, recipe{
		tag:  RubyAppTag,
		from: base,
		files: map[string][]byte{
			"app/app.rb":           []byte(rubyApp),
			"app/lib/greeting.rb":  []byte("module Greeting\n  def self.text\n    \"hello from ruby\"\n  end\nend\n"),
			"app/Gemfile":          []byte(rubyGemfile),
			"app/spec/app_test.rb": []byte("require \"rack/test\"\n# rack-test drives App in CI\n"),
		},
		dockerfile: `FROM ` + base + `
RUN ` + aptInstall + rubyPackages + ` ruby-dev build-essential
WORKDIR /app
COPY app/ .
RUN bundle lock --local && bundle exec ruby -e 'require "nokogiri"; require "sinatra/base"'
ENV PORT=` + strconv.Itoa(RubyAppPort) + `
CMD ["bundle", "exec", "ruby", "app.rb"]
`,
	})
	return RubyAppTag, RubyAppPort
}

// RubyMultiStage is RubyApp's app on the base image with the gems'
// packages.
func RubyMultiStage(t testing.TB) string {
	t.Helper()
	base := BaseImage(t)
	from, _ := RubyApp(t)
	ensureImage(t, recipe{
		tag:  RubyMultiStageTag,
		from: from,
		dockerfile: `FROM ` + from + ` AS build
FROM ` + base + `
RUN ` + aptInstallNoRecommend + rubyPackages + ` && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/app.rb /app/Gemfile /app/Gemfile.lock /app/
COPY --from=build /app/lib /app/lib
ENV PORT=` + strconv.Itoa(RubyAppPort) + `
CMD ["bundle", "exec", "ruby", "app.rb"]
`,
	})
	return RubyMultiStageTag
}

// phpIndex is PhpApp's router script: the built-in server runs it for
// every request. "/" stores the greeting of src/Greeting.php in an SQLite
// database in memory (the sqlite3 extension) and reads it back, upper-cases
// a multibyte string (mbstring) and reports the uid (posix).
const phpIndex = `<?php
require __DIR__ . '/src/Greeting.php';

$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path === '/health') {
    header('Content-Type: text/plain');
    echo "ok\n";
    return true;
}
$db = new SQLite3(':memory:');
$db->exec('CREATE TABLE greetings (text TEXT)');
$st = $db->prepare('INSERT INTO greetings VALUES (:t)');
$st->bindValue(':t', Greeting::hello());
$st->execute();
header('Content-Type: application/json');
echo json_encode([
    'app' => 'php-app',
    'uid' => posix_getuid(),
    'gid' => posix_getgid(),
    'greeting' => $db->querySingle('SELECT text FROM greetings'),
    'upper' => mb_strtoupper('héllo wörld'),
    'sqlite' => SQLite3::version()['versionString'],
    'php' => PHP_VERSION,
]) . "\n";
return true;
`

// phpPackages are the Debian packages PhpApp runs on.
const phpPackages = "php-cli php-mbstring php-sqlite3"

// PhpApp returns PhpAppTag and its port, building it when missing or
// stale: Debian's php-cli with mbstring and sqlite3, the app in /app with
// its tests, run by `php -S 127.0.0.1:PORT index.php` (the address is in
// the command line: an exec-form CMD expands no $PORT).
func PhpApp(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	addr := "127.0.0.1:" + strconv.Itoa(PhpAppPort)
	ensureImage(t, recipe{
		tag:  PhpAppTag,
		from: base,
		files: map[string][]byte{
			"app/index.php":              []byte(phpIndex),
			"app/src/Greeting.php":       []byte("<?php\n\nfinal class Greeting\n{\n    public static function hello(): string\n    {\n        return 'hello from php';\n    }\n}\n"),
			"app/tests/GreetingTest.php": []byte("<?php\nrequire __DIR__ . '/../src/Greeting.php';\nassert(Greeting::hello() === 'hello from php');\necho \"ok\\n\";\n"),
			"app/README.md":              []byte("# php-app\n\n`php -S 127.0.0.1:18097 index.php`\n"),
		},
		dockerfile: `FROM ` + base + `
RUN ` + aptInstall + phpPackages + ` curl
WORKDIR /app
COPY app/ .
RUN php tests/GreetingTest.php && php -m | grep -qx mbstring && php -m | grep -qx sqlite3
ENV PORT=` + strconv.Itoa(PhpAppPort) + `
CMD ["php", "-S", "` + addr + `", "index.php"]
`,
	})
	return PhpAppTag, PhpAppPort
}

// PhpMultiStage is PhpApp's app on the base image with the PHP packages.
func PhpMultiStage(t testing.TB) string {
	t.Helper()
	base := BaseImage(t)
	from, _ := PhpApp(t)
	ensureImage(t, recipe{
		tag:  PhpMultiStageTag,
		from: from,
		dockerfile: `FROM ` + from + ` AS build
FROM ` + base + `
RUN ` + aptInstallNoRecommend + phpPackages + ` && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/index.php /app/
COPY --from=build /app/src /app/src
ENV PORT=` + strconv.Itoa(PhpAppPort) + `
CMD ["php", "-S", "127.0.0.1:` + strconv.Itoa(PhpAppPort) + `", "index.php"]
`,
	})
	return PhpMultiStageTag
}
