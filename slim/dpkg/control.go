package dpkg

import (
	"bytes"
	"fmt"
	"strings"
)

// stanza is one paragraph of a deb822 file (/var/lib/dpkg/status,
// /var/lib/apt/extended_states): its fields and where its bytes are, so a
// file can be written back without some stanzas and otherwise unchanged.
type stanza struct {
	fields     map[string]string // lower-case name -> value, continuation lines joined with "\n"
	start, end int               // raw bytes, including the blank lines that follow
	line       int               // 1-based line of the first field
}

func (s *stanza) get(name string) string { return s.fields[strings.ToLower(name)] }

// parseStanzas splits a deb822 file into stanzas. Lines are "Name: value";
// a line starting with a space or tab continues the previous value; one or
// more blank lines end a stanza.
func parseStanzas(data []byte) ([]stanza, error) {
	var (
		out    []stanza
		inside bool   // the last line was a field of out[len(out)-1]
		last   string // the field continuation lines extend
		pos    int
		lineN  int
	)
	for pos < len(data) {
		lineStart := pos
		var line []byte
		if nl := bytes.IndexByte(data[pos:], '\n'); nl < 0 {
			line, pos = data[pos:], len(data)
		} else {
			line, pos = data[pos:pos+nl], pos+nl+1
		}
		lineN++
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			if len(out) > 0 {
				out[len(out)-1].end = pos
			}
			inside, last = false, ""
			continue
		}
		if !inside {
			out = append(out, stanza{fields: map[string]string{}, start: lineStart, line: lineN})
			inside = true
		}
		cur := &out[len(out)-1]
		cur.end = pos
		switch {
		case line[0] == ' ' || line[0] == '\t':
			if last == "" {
				return nil, fmt.Errorf("line %d: continuation line with no field before it", lineN)
			}
			cur.fields[last] += "\n" + string(bytes.TrimSpace(line))
		case line[0] == '#':
			// deb822 comment
		default:
			colon := bytes.IndexByte(line, ':')
			if colon <= 0 {
				return nil, fmt.Errorf("line %d: got %q, want \"Name: value\"", lineN, line)
			}
			last = strings.ToLower(string(line[:colon]))
			cur.fields[last] = string(bytes.TrimSpace(line[colon+1:]))
		}
	}
	if len(out) > 0 && out[0].start > 0 {
		out[0].start = 0 // leading blank lines go with the first stanza
	}
	return out, nil
}
