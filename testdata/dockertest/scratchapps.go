package dockertest

// Fixture images for imgslim's scratch mode, built the way apps.go builds
// its own (one stage, toolchain, caches, sources and .git left in the
// image) and cached the same way, by tag and FixtureLabel:
//
//   - StaticGoApp: a static (CGO_ENABLED=0) Go server compiled in the image
//     with Debian's Go, which loads a time zone and the CA pool at startup;
//   - DynamicCApp: a C server compiled in the image, dynamically linked to
//     libssl, libcrypto and libz, which it calls at startup;
//   - FlaskApp: a Flask app run by Debian's python3;
//   - NodeTSMultiStage: the app of NodeTSApp as a careful team would ship
//     it, built in NodeBase and copied with its production node_modules onto
//     the base image with nodejs alone. It is the yardstick scratch mode is
//     measured against.
//
// Every server listens on 127.0.0.1 at $PORT (set in the image to the
// fixture's port), answers HealthPath with "ok" and "/" with JSON holding
// "uid". Run them with RunApp.

import (
	"path/filepath"
	"strconv"
	"testing"
)

// The scratch fixtures' tags and ports.
const (
	// StaticGoAppTag holds /app/server, a static Go binary built in the
	// image by Debian's golang-go, with its sources, .git and the Go build
	// cache; ca-certificates, tzdata and git are installed.
	StaticGoAppTag  = "imgslim-test/static-go-app:1"
	StaticGoAppPort = 18090
	// DynamicCAppTag holds /app/server, a C server linked to libssl,
	// libcrypto and libz, built in the image with build-essential,
	// libssl-dev and zlib1g-dev, with its sources and .git.
	DynamicCAppTag  = "imgslim-test/dynamic-c-app:1"
	DynamicCAppPort = 18091
	// FlaskAppTag runs CMD ["python3", "/app/app.py"] in WORKDIR /app, with
	// Debian's python3-flask, a .git, tests and __pycache__ directories.
	FlaskAppTag  = "imgslim-test/python-flask-app:1"
	FlaskAppPort = 18092
	// NodeTSMultiStageTag is NodeTSApp's app from a multi-stage Dockerfile.
	// It listens on NodeTSAppPort, as NodeTSApp does.
	NodeTSMultiStageTag = "imgslim-test/node-ts-multistage:1"

	// AppBinary is the program of StaticGoApp and DynamicCApp.
	AppBinary = "/app/server"
)

// staticGoMain is StaticGoApp's server. It fails at startup, naming what is
// missing, without the Europe/Paris time zone or with an empty CA pool; "/"
// reports Paris's abbreviation in July ("CEST" with the real zone data) and
// how many CA certificates it read.
const staticGoMain = `package main

import (
	"crypto/x509"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "18090"
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		log.Fatalf("FATAL: time zone Europe/Paris: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		log.Fatalf("FATAL: system CA pool: %v", err)
	}
	certs := len(pool.Subjects())
	if certs == 0 {
		log.Fatalf("FATAL: system CA pool: no certificates (SSL_CERT_FILE=%q)", os.Getenv("SSL_CERT_FILE"))
	}
	july := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC).In(paris)
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"app":   "static-go-app",
			"uid":   os.Getuid(),
			"gid":   os.Getgid(),
			"tz":    paris.String(),
			"july":  july.Format("MST"),
			"certs": certs,
		})
	})
	addr := "127.0.0.1:" + port
	log.Printf("static-go-app listening on http://%s (%d CA certificates, Paris in July: %s)", addr, certs, july.Format("MST"))
	log.Fatal(http.ListenAndServe(addr, nil))
}
`

// StaticGoApp returns StaticGoAppTag and its port, building it when missing
// or stale (about 50 s here with a near apt mirror, mostly apt-get).
func StaticGoApp(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	files := map[string][]byte{
		"src/go.mod":     []byte("module example.com/static-go-app\n\ngo 1.19\n"),
		"src/main.go":    []byte(staticGoMain),
		"src/README.md":  []byte("# static-go-app\n\nA static Go server: `CGO_ENABLED=0 go build -o server .`\n"),
		"src/.gitignore": []byte("/server\n"),
	}
	ensureImage(t, recipe{
		tag:   StaticGoAppTag,
		from:  base,
		files: files,
		dockerfile: `FROM ` + base + `
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y golang-go ca-certificates tzdata git
WORKDIR /app
COPY src/ .
RUN CGO_ENABLED=0 GOPROXY=off go build -o ` + AppBinary + ` .
ENV PORT=` + strconv.Itoa(StaticGoAppPort) + `
EXPOSE ` + strconv.Itoa(StaticGoAppPort) + `
CMD ["` + AppBinary + `"]
`,
		fill: func(t testing.TB, dir string) { gitCommit(t, filepath.Join(dir, "src")) },
	})
	return StaticGoAppTag, StaticGoAppPort
}

// dynamicCServer is DynamicCApp's server: plain sockets, one request per
// connection. It initialises OpenSSL (an SSL_CTX) and round-trips a buffer
// through zlib at startup, so both libraries are loaded and used.
const dynamicCServer = `#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

static void write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

int main(void) {
	const char *port_env = getenv("PORT");
	int port = port_env ? atoi(port_env) : 18091;

	if (OPENSSL_init_ssl(0, NULL) != 1) {
		fprintf(stderr, "FATAL: OPENSSL_init_ssl failed\n");
		return 1;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		fprintf(stderr, "FATAL: SSL_CTX_new failed\n");
		return 1;
	}
	const char *ssl_version = OpenSSL_version(OPENSSL_VERSION);

	const char msg[] = "imgslim dynamic-c-app zlib round trip";
	unsigned char packed[256], unpacked[256];
	uLongf plen = sizeof packed, ulen = sizeof unpacked;
	if (compress(packed, &plen, (const Bytef *)msg, sizeof msg) != Z_OK ||
	    uncompress(unpacked, &ulen, packed, plen) != Z_OK || ulen != sizeof msg ||
	    memcmp(unpacked, msg, sizeof msg) != 0) {
		fprintf(stderr, "FATAL: zlib round trip failed\n");
		return 1;
	}
	const char *zlib_ver = zlibVersion();

	signal(SIGPIPE, SIG_IGN);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(s, 64) != 0) {
		perror("FATAL: listen");
		return 1;
	}
	printf("dynamic-c-app listening on http://127.0.0.1:%d (%s, zlib %s)\n", port, ssl_version, zlib_ver);
	fflush(stdout);

	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		char req[4096];
		ssize_t n = read(c, req, sizeof req - 1);
		if (n <= 0) {
			close(c);
			continue;
		}
		req[n] = 0;
		char path[256] = "";
		sscanf(req, "%*s %255s", path);
		char body[512];
		int status = 200;
		if (strcmp(path, "/health") == 0) {
			snprintf(body, sizeof body, "ok\n");
		} else if (strcmp(path, "/") == 0) {
			snprintf(body, sizeof body,
			         "{\"app\":\"dynamic-c-app\",\"uid\":%d,\"gid\":%d,\"openssl\":\"%s\",\"zlib\":\"%s\"}\n",
			         (int)getuid(), (int)getgid(), ssl_version, zlib_ver);
		} else {
			status = 404;
			snprintf(body, sizeof body, "not found\n");
		}
		char head[256];
		int hn = snprintf(head, sizeof head,
		                  "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		                  status, status == 200 ? "OK" : "Not Found", strlen(body));
		write_all(c, head, (size_t)hn);
		write_all(c, body, strlen(body));
		close(c);
	}
}
`

// DynamicCApp returns DynamicCAppTag and its port, building it when missing
// or stale (about 30 s here with a near apt mirror, mostly apt-get).
func DynamicCApp(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	files := map[string][]byte{
		"src/server.c":   []byte(dynamicCServer),
		"src/Makefile":   []byte("server: server.c\n\t$(CC) -O2 -Wall -o $@ server.c -lssl -lcrypto -lz\n"),
		"src/README.md":  []byte("# dynamic-c-app\n\nA C server linked to OpenSSL and zlib: `make`\n"),
		"src/.gitignore": []byte("/server\n*.o\n"),
	}
	ensureImage(t, recipe{
		tag:   DynamicCAppTag,
		from:  base,
		files: files,
		dockerfile: `FROM ` + base + `
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y build-essential libssl-dev zlib1g-dev git
WORKDIR /app
COPY src/ .
RUN make server
ENV PORT=` + strconv.Itoa(DynamicCAppPort) + `
EXPOSE ` + strconv.Itoa(DynamicCAppPort) + `
CMD ["` + AppBinary + `"]
`,
		fill: func(t testing.TB, dir string) { gitCommit(t, filepath.Join(dir, "src")) },
	})
	return DynamicCAppTag, DynamicCAppPort
}

// flaskApp is FlaskApp's app.py; it imports a module of its own directory.
const flaskApp = `import os
from importlib.metadata import version

from flask import Flask, jsonify

from greetings import greeting

app = Flask(__name__)


@app.route("/health")
def health():
    return "ok\n"


@app.route("/")
def index():
    return jsonify(app="python-flask-app", uid=os.getuid(), gid=os.getgid(),
                   flask=version("flask"), greeting=greeting())


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "18092")))
`

// FlaskApp returns FlaskAppTag and its port, building it when missing or
// stale (about 15 s here with a near apt mirror).
func FlaskApp(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	files := map[string][]byte{
		"app/app.py":            []byte(flaskApp),
		"app/greetings.py":      []byte("def greeting():\n    return \"hello from /app\"\n"),
		"app/tests/test_app.py": []byte("from app import app\n\n\ndef test_health():\n    assert app.test_client().get(\"/health\").data == b\"ok\\n\"\n"),
		"app/requirements.txt":  []byte("flask>=2.2\n"),
		"app/README.md":         []byte("# python-flask-app\n\n`python3 app.py`\n"),
		"app/.gitignore":        []byte("__pycache__/\n*.pyc\n.venv/\n"),
	}
	ensureImage(t, recipe{
		tag:   FlaskAppTag,
		from:  base,
		files: files,
		dockerfile: `FROM ` + base + `
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-flask
WORKDIR /app
COPY app/ .
RUN python3 -m compileall -q /app && cd /app && python3 -c "import app, tests.test_app"
ENV PORT=` + strconv.Itoa(FlaskAppPort) + `
EXPOSE ` + strconv.Itoa(FlaskAppPort) + `
CMD ["python3", "/app/app.py"]
`,
		fill: func(t testing.TB, dir string) { gitCommit(t, filepath.Join(dir, "app")) },
	})
	return FlaskAppTag, FlaskAppPort
}

// NodeTSMultiStage returns NodeTSMultiStageTag and its port (NodeTSAppPort),
// building it (and NodeBase) when missing or stale. The builder stage
// installs, compiles and prunes the devDependencies in NodeBase; the final
// stage is the base image, nodejs without recommends (apt lists removed),
// and /app's package.json, dist/ and production node_modules. It takes
// about 30 s on top of NodeBase, a few of them filling the npm cache on the
// host.
func NodeTSMultiStage(t testing.TB) (tag string, port int) {
	t.Helper()
	base := BaseImage(t)
	from := NodeBase(t)
	files := appFiles(t, "node-ts-app", "app/")
	ensureImage(t, recipe{
		tag:   NodeTSMultiStageTag,
		from:  from, // built FROM base, and rebuilt with it
		files: files,
		dockerfile: `FROM ` + from + ` AS builder
WORKDIR /app
COPY npm-cache /root/.npm
COPY app/ .
RUN npm install --offline --no-audit --no-fund
RUN npx tsc
RUN npm prune --omit=dev --offline --no-audit --no-fund

FROM ` + base + `
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=builder /app/package.json /app/package-lock.json ./
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/dist ./dist
ENV PORT=` + strconv.Itoa(NodeTSAppPort) + `
EXPOSE ` + strconv.Itoa(NodeTSAppPort) + `
CMD ["node", "dist/server.js"]
`,
		fill: func(t testing.TB, dir string) {
			fillNpmCache(t, filepath.Join(dir, "app"), filepath.Join(dir, "npm-cache"))
		},
	})
	return NodeTSMultiStageTag, NodeTSAppPort
}
