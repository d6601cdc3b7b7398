package slim

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Quote renders a name taken from an image (a path, a package, a user) for
// a human-readable output. A plain name is shown as it is; any other is
// Go-quoted, so a newline, an escape sequence, a bidi override or invalid
// UTF-8 shows as \n, \x1b, \u202e or \xff: a hostile name can neither
// forge a report line nor drive the terminal. A name that starts with a
// quote, or has a space at either end, is quoted too, so the two forms
// cannot be confused.
func Quote(s string) string {
	if s == "" {
		return `""`
	}
	if s[0] == '"' || s[0] == ' ' || s[len(s)-1] == ' ' {
		return strconv.Quote(s)
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return strconv.Quote(s)
			}
		}
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// Sanitize makes one line of text that embeds names (a warning, an error,
// a progress line) safe to print: every rune that is not printable is
// written as its Go escape, newlines included, and nothing else changes.
func Sanitize(s string) string {
	clean := true
	for i, r := range s {
		if !unicode.IsPrint(r) || r == utf8.RuneError && invalidAt(s, i) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && invalidAt(s, i):
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&0xf, 16))
		case !unicode.IsPrint(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func invalidAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 1
}
