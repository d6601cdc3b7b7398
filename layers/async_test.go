package layers

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

func TestReadAhead(t *testing.T) {
	data := make([]byte, 3*chunkSize+12345)
	rand.NewChaCha8([32]byte{1}).Read(data)
	ra := readAhead(bytes.NewReader(data))
	got, err := io.ReadAll(ra)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("got %d bytes, err %v; want the %d bytes written", len(got), err, len(data))
	}
	ra.Close()

	// An error after some bytes comes after those bytes.
	boom := errors.New("boom")
	ra = readAhead(io.MultiReader(bytes.NewReader(data[:100]), &failing{boom}))
	got, err = io.ReadAll(ra)
	if !errors.Is(err, boom) || len(got) != 100 {
		t.Errorf("got %d bytes and %v, want 100 and boom", len(got), err)
	}
	ra.Close()

	// Closing early stops the goroutine without reading everything.
	ra = readAhead(bytes.NewReader(data))
	buf := make([]byte, 10)
	if _, err := ra.Read(buf); err != nil {
		t.Fatal(err)
	}
	ra.Close()
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }

func TestWriteBehind(t *testing.T) {
	data := make([]byte, 2*chunkSize+777)
	rand.NewChaCha8([32]byte{2}).Read(data)
	var out bytes.Buffer
	wb := writeBehind(&out)
	for i := 0; i < len(data); i += 4096 {
		wb.Write(data[i:min(i+4096, len(data))])
	}
	if err := wb.Close(); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Errorf("got %d bytes, err %v; want the %d bytes written", out.Len(), err, len(data))
	}
	boom := errors.New("boom")
	wb = writeBehind(&failingWriter{boom})
	wb.Write(data)
	if err := wb.Close(); !errors.Is(err, boom) {
		t.Errorf("got %v from Close, want boom", err)
	}
}

type failingWriter struct{ err error }

func (f *failingWriter) Write([]byte) (int, error) { return 0, f.err }
