package secrets

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/report"
)

// Tokens shaped as the real ones are, made up for the tests.
const (
	awsKeyID  = "AKIAZ3MSJV4WWNKWW5FG"
	awsSecret = "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"
	githubPAT = "ghp_1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV2wX"
	gitlabPAT = "glpat-a1B2c3D4e5F6g7H8i9J0"
	npmToken  = "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
	stripeKey = "sk_live_51HxYzAbCdEfGhIjKlMnOpQr"
	slackHook = "https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/abcdefghijklmnopqrstuvwx"
	rsaKey    = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9OiZ1BjP5CE/Wm/Rr500P\nRK+Lh9x5eJPo5CAZ3/ANBE0sTK0ZsDGMak2m1g7fr6Ie3s8oHLgWBoqw6bA\n-----END RSA PRIVATE KEY-----\n"
)

func TestScan(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, content string
		want                []string // rule ids, by line
		wantLine            int      // the first finding's line
	}{
		{"aws credentials", "/srv/deploy/credentials", "[default]\naws_access_key_id = " + awsKeyID + "\naws_secret_access_key = " + awsSecret + "\n",
			[]string{"aws-access-token", "generic-api-key"}, 2},
		{"github token in a config", "/app/config.yaml", "name: app\ngithub:\n  token: " + githubPAT + "\n", []string{"github-pat"}, 3},
		{"gitlab token", "/app/ci.env", "GITLAB=" + gitlabPAT + "\n", []string{"gitlab-pat"}, 1},
		{"npm token", "/home/app/settings.ini", "//registry.npmjs.org/:_authToken=" + npmToken + "\n", []string{"npm-access-token"}, 1},
		{"stripe key", "/app/billing.js", "const stripe = require('stripe')('" + stripeKey + "');\n", []string{"stripe-access-token"}, 1},
		{"slack webhook", "/etc/app/hooks.txt", "notify " + slackHook + "\n", []string{"slack-webhook-url"}, 1},
		{"private key in an ordinary name", "/srv/deploy/server", "# key\n" + rsaKey, []string{"private-key"}, 2},
		{"password in a URL", "/app/settings.py", "DEBUG = False\nDATABASE_URL = 'postgres://admin:Xk9vQ2mN7pL4@db.internal:5432/app'\n", []string{"url-password"}, 2},
		{"Dockerfile ENV", "/app/Dockerfile", "FROM debian\nENV PASSWORD=Sup3rS3cretPassw0rd\nRUN make\n", []string{"dockerfile-secret"}, 2},
		{"Dockerfile ARG and legacy ENV", "/src/Dockerfile.prod", "FROM debian\nARG NPM_TOKEN=abc123def456ghi789\nENV DB_PASS hunter22x\n", []string{"dockerfile-secret", "dockerfile-secret"}, 2},
		{"minified line", "/app/static/app.min.js", strings.Repeat("var a=1;", 20000) + "var k='" + githubPAT + "';" + strings.Repeat("var b=2;", 20000), []string{"github-pat"}, 1},

		{"URL with a placeholder", "/app/settings.py", "URL = 'postgres://user:${DB_PASSWORD}@db/app'\nOTHER = 'https://user:password@example.com'\n", nil, 0},
		{"Dockerfile with a reference", "/app/Dockerfile", "FROM debian\nARG PASSWORD\nENV PASSWORD=$PASSWORD\nENV PATH=/usr/bin\n", nil, 0},
		{"binary", "/usr/bin/tool", "\x7fELF\x00\x00" + githubPAT, nil, 0},
		{"lockfile (gitleaks allowlist)", "/app/package-lock.json", `{"integrity": "` + githubPAT + `"}`, nil, 0},
		{"prose", "/usr/share/doc/app/README", "The token is read from the environment. Set your password with passwd.\n", nil, 0},
		{"public key", "/etc/ssh/ssh_host_rsa_key.pub", "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := s.Scan(tc.path, []byte(tc.content))
			var got []string
			for _, f := range fs {
				got = append(got, f.Rule)
				if strings.Contains(f.Description, githubPAT) || strings.Contains(f.Description, "Sup3r") {
					t.Errorf("finding %+v holds the secret", f)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got rules %q, want %q (%+v)", got, tc.want, fs)
			}
			if len(fs) > 0 && fs[0].Line != tc.wantLine {
				t.Errorf("got line %d, want %d", fs[0].Line, tc.wantLine)
			}
		})
	}
}

// A file over the cap is not read at all.
func TestScanCap(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	big := []byte(githubPAT + "\n" + strings.Repeat("x", MaxSize))
	if fs := s.Scan("/app/big.txt", big); fs != nil {
		t.Errorf("got %+v for a file over MaxSize, want nothing", fs)
	}
}

func BenchmarkScanText(b *testing.B) {
	s, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	// A config-like text with the keywords gitleaks' rules look for
	// on a line in ten.
	var sb strings.Builder
	for i := 0; sb.Len() < 256<<10; i++ {
		if i%10 == 0 {
			sb.WriteString("api_key = os.environ.get('API_KEY')  # the token comes from the secret store\n")
		} else {
			sb.WriteString("def handler(request): return render(request, 'index.html', {'items': items})\n")
		}
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Scan("/app/settings.py", data)
	}
}

// pathAllowed skips exactly the files gitleaks' detector would find
// nothing in because of their path: the same verdict as Detect's own
// check on a fragment that holds a token.
func TestPathAllowed(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	content := "token = '" + githubPAT + "'\n"
	for _, name := range []string{
		"/app/config.yaml", "/app/node_modules/pkg/index.js", "/node_modules", "/app/my_node_modules/x.js",
		"/NODE_MODULES/pkg/a.js", "/app/package-lock.json", "/app/yarn.lock", "/srv/logo.png", "/srv/LOGO.PNG",
		"/src/go.sum", "/src/vendor/modules.txt", "/src/vendor/github.com/x/y.go", "/usr/lib/python3.11/site.py",
		"/venv/lib/python3.12/x.py", "/gitleaks.toml", "/app/static/jquery-3.7.1.min.js", "/app/.git", "/app/.git/config",
		"/usr/lib/x86_64-linux-gnu/perl/5.36/Config.pm", "/app/Pipfile.lock", "/home/app/.gem", "/app/a.gem",
	} {
		want := len(s.d.Detect(detect.Fragment{Raw: content, FilePath: strings.TrimPrefix(name, "/")})) == 0
		if got := s.pathAllowed(name); got != want {
			t.Errorf("pathAllowed(%q) = %v, want %v (what Detect does)", name, got, want)
		}
	}
}

// The detector Scan runs on the files pathAllowed lets through finds what
// gitleaks' own finds in them.
func TestInnerDetector(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, content := range []string{
		"[default]\naws_access_key_id = " + awsKeyID + "\naws_secret_access_key = " + awsSecret + "\n",
		"github:\n  token: " + githubPAT + "\n", "GITLAB=" + gitlabPAT + "\n", "//registry.npmjs.org/:_authToken=" + npmToken + "\n",
		"notify " + slackHook + "\n", "api_key = 'true'\npassword = '${DB_PASSWORD}'\ntoken = 'abcdefghijklmnopqrstuvwxyz'\n",
		"secret = '/usr/local/share/ca-certificates'\napi_token = 'x9Fk2LqP0vZr7TbW3nYs'\n",
	} {
		for _, name := range []string{"app/config.yaml", "srv/cert.p12", "app/.github/workflows/ci.yml", "app/test/fixtures/key.txt"} {
			frag := detect.Fragment{Raw: content, FilePath: name}
			got, want := findingSet(s.inner.Detect(frag)), findingSet(s.d.Detect(frag))
			if want != "" {
				found++
			}
			if got != want {
				t.Errorf("%s, %q: got %s, want %s", name, content, got, want)
			}
		}
	}
	if found < 10 {
		t.Errorf("gitleaks found secrets in %d of the cases, want most", found)
	}
}

// findingSet renders findings in an order of their own: the detector's
// rules are a map.
func findingSet(fs []report.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s:%d:%s", f.RuleID, f.StartLine, f.Secret))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// gitleaks runs its rules in map order; a line that two rules match gives
// the same finding run after run.
func TestScanDeterministic(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	// Two specific rules on each line: one finding a line is kept.
	content := "tokens: " + githubPAT + " " + npmToken + "\n" +
		"keys: " + stripeKey + " " + gitlabPAT + "\n"
	first := fmt.Sprint(s.Scan("/app/config.yaml", []byte(content)))
	for i := range 50 {
		if got := fmt.Sprint(s.Scan("/app/config.yaml", []byte(content))); got != first {
			t.Fatalf("scan %d: got %s, want %s as the first time", i+1, got, first)
		}
	}
	t.Logf("findings: %s", first)
}
