package main

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
)

// contentKind says what a file's bytes look like, which decides how well the
// file compresses. The mix of kinds in the generated image is tuned so that the
// gzip layers come out at roughly 2.5:1, like a real single-stage Node image.
type contentKind uint8

const (
	kindText   contentKind = iota // source code, docs, package lists: ~3.5:1
	kindBinary                    // ELF executables and shared objects: ~2:1
	kindRandom                    // already-compressed data (.deb, .gz, git packs, npm cache): ~1:1
	kindELF                       // kindBinary behind a valid ELF header: a static x86-64 executable
)

// elfHeader is the ELF header and one PT_LOAD program header of a static
// x86-64 executable (no PT_INTERP): enough for imgslim to read the
// program as the real thing, without anything to run.
var elfHeader = func() []byte {
	b := make([]byte, 120)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2)    // ET_EXEC
	le.PutUint16(b[18:], 0x3e) // EM_X86_64
	le.PutUint32(b[20:], 1)    // EV_CURRENT
	le.PutUint64(b[24:], 0x400078)
	le.PutUint64(b[32:], 64) // program headers right after this header
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[54:], 56)
	le.PutUint16(b[56:], 1)
	ph := b[64:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // R+X
	le.PutUint64(ph[16:], 0x400000)
	le.PutUint64(ph[24:], 0x400000)
	le.PutUint64(ph[32:], 120)
	le.PutUint64(ph[40:], 120)
	le.PutUint64(ph[48:], 0x1000)
	return b
}()

// vocab is the word list for text content. Words are drawn from it with a
// skewed distribution (the low indexes much more often), like real text.
var vocab = [...]string{
	"the", "function", "return", "const", "this", "if", "of", "to", "and", "a",
	"in", "is", "for", "let", "var", "new", "export", "import", "from", "default",
	"module", "require", "exports", "value", "name", "type", "string", "number", "true", "false",
	"null", "undefined", "options", "config", "data", "result", "error", "err", "callback", "args",
	"length", "index", "key", "object", "array", "prototype", "call", "apply", "push", "map",
	"filter", "reduce", "then", "catch", "async", "await", "Promise", "resolve", "reject", "throw",
	"Error", "TypeError", "instanceof", "typeof", "else", "while", "break", "continue", "switch", "case",
	"class", "extends", "super", "constructor", "static", "get", "set", "with", "be", "that",
	"it", "on", "as", "are", "by", "not", "or", "an", "at", "can",
	"file", "path", "buffer", "stream", "request", "response", "headers", "body", "status", "server",
	"client", "socket", "event", "emit", "listener", "handler", "router", "middleware", "app", "express",
	"package", "version", "license", "description", "dependencies", "main", "scripts", "build", "test", "debian",
	"Package:", "Version:", "Architecture:", "amd64", "Maintainer:", "Depends:", "Description:", "Section:", "Priority:", "optional",
	"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libssl3", "Installed-Size:", "Filename:", "pool/main", "SHA256:", "Size:",
	"struct", "int", "char", "void", "unsigned", "long", "size_t", "define", "ifdef", "endif",
	"include", "extern", "inline", "typedef", "enum", "union", "sizeof", "uint32_t", "uint64_t", "__attribute__",
	"Copyright", "Permission", "software", "without", "warranty", "MIT", "GPL", "granted", "distribute", "provided",
	"LIABILITY", "CONTRACT", "OTHERWISE", "ARISING", "FROM", "OUT", "OR", "IN", "CONNECTION", "WITH",
	"lodash", "react", "webpack", "babel", "typescript", "eslint", "jest", "axios", "chalk", "debug",
	"util", "assert", "crypto", "http", "https", "url", "querystring", "events", "process", "env",
	"console", "log", "warn", "info", "JSON", "parse", "stringify", "Object", "keys", "assign",
	"defineProperty", "enumerable", "configurable", "writable", "Symbol", "iterator", "Array", "isArray", "slice", "concat",
	"0", "1", "2", "10", "100", "0x0", "-1", "''", "\"use strict\"", "//",
	"/*", "*/", "=>", "===", "!==", "&&", "||", "+=", "...", "?",
	"{", "}", "(", ")", "[", "]", "=", ":", "<", ">",
	"@param", "@returns", "@type", "@private", "TODO", "FIXME", "node_modules", "dist", "src", "lib",
	"index.js", "README.md", "utf8", "base64", "hex", "Date", "now", "Math", "floor", "random",
	"setTimeout", "clearTimeout", "nextTick", "Buffer", "from", "alloc", "toString", "equal", "deep", "strict",
	"schema", "validate", "required", "properties", "items", "format", "pattern", "minimum", "maximum", "enum",
	"user", "users", "id", "token", "session", "query", "params", "route", "db", "sql",
	"SELECT", "WHERE", "INSERT", "UPDATE", "VALUES", "table", "column",
}

// Bytes that separate words in text: mostly spaces, sometimes line breaks
// with indentation, sometimes punctuation.
var separators = [...]string{" ", " ", " ", " ", " ", " ", " ", "\n", "\n  ", "\n    ", ", ", "; ", ".", "(", ");\n", " = "}

// Instruction-like byte sequences for binary content: common x86-64 opcodes
// and prologues. They are followed by random operand bytes.
var opcodes = [...][]byte{
	{0x48, 0x89, 0xc7}, {0x48, 0x8b, 0x45}, {0x48, 0x89, 0x45}, {0xe8}, {0xe9}, {0x55, 0x48, 0x89, 0xe5},
	{0x48, 0x83, 0xec}, {0x48, 0x83, 0xc4}, {0xc3}, {0x0f, 0x1f, 0x44, 0x00, 0x00}, {0x31, 0xc0}, {0x85, 0xc0},
	{0x74}, {0x75}, {0x0f, 0x84}, {0x0f, 0x85}, {0x48, 0x8d, 0x3d}, {0x48, 0x8d, 0x35}, {0x41, 0x57}, {0x41, 0x56},
	{0x5d}, {0x41, 0x5f}, {0xff, 0x15}, {0x8b, 0x45}, {0x89, 0x45}, {0x48, 0x63}, {0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
	{0x48, 0x8b, 0x05}, {0x48, 0x39, 0xc2}, {0x4c, 0x89, 0xe7}, {0x4c, 0x8b, 0x64, 0x24}, {0xf3, 0x0f, 0x1e, 0xfa},
}

// Common one-byte operands: stack offsets and small immediates.
var operands = [8]byte{0xf8, 0xf0, 0xe8, 0x08, 0x10, 0x18, 0x01, 0x00}

// contentGen produces file contents from one ChaCha8 stream, so that the
// bytes of a layer depend only on its seed.
type contentGen struct {
	src *rand.ChaCha8
	rng *rand.Rand
	buf []byte

	phrases [64][]byte // recent phrases of text, repeated now and then
}

func newContentGen(seed [32]byte) *contentGen {
	src := rand.NewChaCha8(seed)
	return &contentGen{src: src, rng: rand.New(src), buf: make([]byte, 0, 64<<10)}
}

// word picks a word index with a skewed distribution: the minimum of three
// uniform draws favours low indexes, which hold the common words.
func (g *contentGen) word(u uint64) string {
	a, b, c := int(u&0xff), int(u>>8&0xff), int(u>>16&0xff)
	i := min(a, b, c)
	if i >= len(vocab) {
		i = len(vocab) - 1 - i%16
	}
	return vocab[i]
}

// fillText appends about n bytes of text to dst. Text is made of phrases of a
// few words; half of the phrases repeat a recent one, as idioms and
// boilerplate repeat in real code and prose.
func (g *contentGen) fillText(dst []byte, n int) []byte {
	end := len(dst) + n
	for len(dst) < end {
		u := g.src.Uint64()
		if u&1 == 0 && g.phrases[u>>2&63] != nil {
			dst = append(dst, g.phrases[u>>2&63]...)
			continue
		}
		start := len(dst)
		for k := 0; k < 2; k++ {
			dst = append(dst, g.word(u>>8)...)
			dst = append(dst, separators[u>>32&0xf]...)
			u = g.src.Uint64()
		}
		slot := &g.phrases[u&63]
		*slot = append((*slot)[:0], dst[start:]...)
	}
	return dst[:end]
}

// fillBinary appends n bytes that look like machine code, data and string
// tables.
func (g *contentGen) fillBinary(dst []byte, n int) []byte {
	end := len(dst) + n
	for len(dst) < end {
		u := g.src.Uint64()
		switch u & 0xf {
		case 0: // random data (constants, relocations, compressed sections)
			start := len(dst)
			dst = append(dst, make([]byte, 64)...)
			g.src.Read(dst[start:])
		case 1, 2, 3, 4, 5, 6, 7, 8: // code: opcodes with operands
			v := u >> 4
			for k := 0; k < 12; k++ {
				dst = append(dst, opcodes[int(v&0x1f)%len(opcodes)]...)
				switch v >> 5 & 3 {
				case 0:
					dst = append(dst, operands[v>>7&7])
				case 1:
					dst = append(dst, byte(v>>7), byte(v>>10), 0xff, 0xff)
				}
				v = v>>9 | (g.src.Uint64()>>24)<<40
			}
		case 9, 10: // padding
			dst = append(dst, make([]byte, 16+int(u>>4&0x3f))...)
		default: // string table
			for k := 0; k < 6; k++ {
				dst = append(dst, g.word(u>>4)...)
				dst = append(dst, 0)
				u >>= 10
			}
		}
	}
	return dst[:end]
}

// write writes n bytes of the given kind to w.
func (g *contentGen) write(w io.Writer, kind contentKind, n int64) error {
	if kind == kindELF {
		h := elfHeader[:min(int64(len(elfHeader)), n)]
		if _, err := w.Write(h); err != nil {
			return err
		}
		n -= int64(len(h))
		kind = kindBinary
	}
	for n > 0 {
		chunk := int(min(n, 32<<10))
		b := g.buf[:0]
		switch kind {
		case kindText:
			b = g.fillText(b, chunk)
		case kindBinary:
			b = g.fillBinary(b, chunk)
		default:
			b = b[:chunk]
			g.src.Read(b)
		}
		g.buf = b[:0]
		if _, err := w.Write(b); err != nil {
			return err
		}
		n -= int64(chunk)
	}
	return nil
}
