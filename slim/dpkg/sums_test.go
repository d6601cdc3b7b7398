package dpkg

import (
	"maps"
	"strings"
	"testing"
)

func TestReadMD5Sums(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
	}{
		{name: "dpkg's form", in: "d41d8cd98f00b204e9800998ecf8427e  usr/bin/true\n0cc175b9c0f1b6a831c399e269772661  usr/share/doc/a b/copyright\n",
			want: map[string]string{"/usr/bin/true": "d41d8cd98f00b204e9800998ecf8427e", "/usr/share/doc/a b/copyright": "0cc175b9c0f1b6a831c399e269772661"}},
		{name: "binary mode and upper case", in: "0CC175B9C0F1B6A831C399E269772661 *etc/x\n",
			want: map[string]string{"/etc/x": "0cc175b9c0f1b6a831c399e269772661"}},
		{name: "not sums", in: "nothing here\nzz175b9c0f1b6a831c399e269772661  etc/y\n0cc175b9  etc/z\nd41d8cd98f00b204e9800998ecf8427e\n\n",
			want: map[string]string{}},
		{name: "no final newline, CRLF-free", in: "d41d8cd98f00b204e9800998ecf8427e  /abs/path",
			want: map[string]string{"/abs/path": "d41d8cd98f00b204e9800998ecf8427e"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			if err := ReadMD5Sums(strings.NewReader(tc.in), func(p, s string) { got[p] = s }); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConffileSums(t *testing.T) {
	status := `Package: base-files
Status: install ok installed
Conffiles:
 /etc/debian_version 0cc175b9c0f1b6a831c399e269772661
 /etc/issue 92eb5ffee6ae2fec3ad71c777531578f obsolete
 /etc/motd newconffile

Package: gone
Status: deinstall ok not-installed
Conffiles:
 /etc/gone.conf 4a8a08f09d37b73795649038408b5f33

Package: leftover
Status: deinstall ok config-files
Conffiles:
 /etc/leftover.conf 8277e0910d750195b448797616e091ad
`
	got, err := ConffileSums([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/etc/debian_version": "0cc175b9c0f1b6a831c399e269772661",
		"/etc/issue":          "92eb5ffee6ae2fec3ad71c777531578f",
		"/etc/leftover.conf":  "8277e0910d750195b448797616e091ad",
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := ConffileSums([]byte(" continuation first\n")); err == nil {
		t.Error("a malformed status: got no error, want one")
	}
}
