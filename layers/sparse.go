package layers

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Sparse files are written as GNU tar writes them with --sparse
// --format=posix ("PAX format 1.0"): a PAX header with GNU.sparse.* records
// naming the file and its logical size, then an entry whose content is a
// map of the data fragments followed by the fragments themselves.
// archive/tar reads that format (and old-GNU 'S' entries) but cannot
// write it, and writing the bytes it reads as a plain file would turn a
// 20 GiB file with a few kilobytes of data into a 20 GiB layer.
// https://www.gnu.org/software/tar/manual/html_node/Sparse-Formats.html

const (
	blockSize = 512
	// minHoles is the hole bytes below which a sparse file is written
	// plain, on purpose: the map would cost about what it saves, and a
	// plain file is what every extractor reads.
	minHoles = 1 << 20
)

var zeroBlock [blockSize]byte

type fragment struct{ off, n int64 }

// writeSparse writes the sparse file h, whose logical content (holes read
// as zeros) r reads. The data goes through a file in dir first: the map,
// which comes before the data, is known only once every byte was seen.
// Holes are found afresh, as runs of zero blocks, so the map is bounded by
// the data actually present, never by what the header claims.
func writeSparse(tw *tar.Writer, raw io.Writer, h *tar.Header, r io.Reader, dir string) error {
	tmp, err := os.CreateTemp(dir, "sparse-*")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	frags, data, logical, err := splitHoles(r, tmp)
	if err != nil {
		return err
	}
	if logical != h.Size {
		return fmt.Errorf("read %d bytes, want %d", logical, h.Size)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	hdr := *h
	hdr.Typeflag = tar.TypeReg
	hdr.PAXRecords = map[string]string{}
	for k, v := range h.PAXRecords {
		if !strings.HasPrefix(k, "GNU.sparse.") {
			hdr.PAXRecords[k] = v
		}
	}
	if logical-data < minHoles {
		return writeExpanded(tw, &hdr, frags, tmp)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writePAXSparse(raw, &hdr, frags, data, tmp)
}

// splitHoles copies the non-zero blocks r reads to w and returns where
// they were, their total and the bytes read.
func splitHoles(r io.Reader, w io.Writer) (frags []fragment, data, logical int64, err error) {
	buf := make([]byte, 1<<20)
	for {
		n, rerr := io.ReadFull(r, buf)
		chunk := buf[:n]
		for len(chunk) > 0 {
			b := chunk[:min(blockSize, len(chunk))]
			if !bytes.Equal(b, zeroBlock[:len(b)]) {
				if k := len(frags) - 1; k >= 0 && frags[k].off+frags[k].n == logical {
					frags[k].n += int64(len(b))
				} else {
					frags = append(frags, fragment{off: logical, n: int64(len(b))})
				}
				if _, err := w.Write(b); err != nil {
					return nil, 0, 0, err
				}
				data += int64(len(b))
			}
			logical += int64(len(b))
			chunk = chunk[len(b):]
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return frags, data, logical, nil
		}
		if rerr != nil {
			return nil, 0, 0, rerr
		}
	}
}

// writeExpanded writes the file plain: data where the fragments are,
// zeros between.
func writeExpanded(tw *tar.Writer, h *tar.Header, frags []fragment, data io.Reader) error {
	h.Format = tar.FormatPAX
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	var at int64
	for _, f := range frags {
		if err := zeros(tw, f.off-at); err != nil {
			return err
		}
		if _, err := io.CopyN(tw, data, f.n); err != nil {
			return err
		}
		at = f.off + f.n
	}
	return zeros(tw, h.Size-at)
}

func zeros(w io.Writer, n int64) error {
	for n > 0 {
		k := min(n, blockSize)
		if _, err := w.Write(zeroBlock[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// writePAXSparse writes h as a PAX format 1.0 sparse file straight to the
// tar stream w, between two entries archive/tar wrote.
func writePAXSparse(w io.Writer, h *tar.Header, frags []fragment, data int64, content io.Reader) error {
	// The map: the number of fragments, then offset and size of each, one
	// number a line, padded to a block. GNU tar ends a file that ends in a
	// hole with an empty fragment at its size.
	if len(frags) == 0 || frags[len(frags)-1].off+frags[len(frags)-1].n < h.Size {
		frags = append(frags, fragment{off: h.Size})
	}
	var m []byte
	m = strconv.AppendInt(m, int64(len(frags)), 10)
	m = append(m, '\n')
	for _, f := range frags {
		m = strconv.AppendInt(m, f.off, 10)
		m = append(m, '\n')
		m = strconv.AppendInt(m, f.n, 10)
		m = append(m, '\n')
	}
	m = append(m, zeroBlock[:pad(int64(len(m)))]...)
	stored := int64(len(m)) + data

	realName := strings.TrimSuffix(h.Name, "/")
	dir, base := path.Split(realName)
	rec := map[string]string{}
	for k, v := range h.PAXRecords {
		switch k {
		case "path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime", "atime", "ctime":
			// Written below from the header's fields.
		default:
			if validRecord(k, v) {
				rec[k] = v
			}
		}
	}
	rec["GNU.sparse.major"] = "1"
	rec["GNU.sparse.minor"] = "0"
	rec["GNU.sparse.name"] = realName
	rec["GNU.sparse.realsize"] = strconv.FormatInt(h.Size, 10)

	u := ustar{typ: tar.TypeReg, mode: h.Mode, size: stored, mtime: h.ModTime.Unix(), uid: int64(h.Uid), gid: int64(h.Gid), uname: h.Uname, gname: h.Gname}
	u.name = fit(path.Join(dir, "GNUSparseFile.0", base), 100)
	if !fits(u.size, 12) {
		rec["size"], u.size = strconv.FormatInt(u.size, 10), 0
	}
	if !fits(u.uid, 8) {
		rec["uid"], u.uid = strconv.FormatInt(u.uid, 10), 0
	}
	if !fits(u.gid, 8) {
		rec["gid"], u.gid = strconv.FormatInt(u.gid, 10), 0
	}
	if u.mtime < 0 || !fits(u.mtime, 12) || h.ModTime.Nanosecond() != 0 {
		rec["mtime"] = fmt.Sprintf("%d.%09d", h.ModTime.Unix(), h.ModTime.Nanosecond())
		if u.mtime < 0 || !fits(u.mtime, 12) {
			u.mtime = 0
		}
	}
	if len(u.uname) > 32 || !ascii(u.uname) {
		rec["uname"], u.uname = u.uname, ""
	}
	if len(u.gname) > 32 || !ascii(u.gname) {
		rec["gname"], u.gname = u.gname, ""
	}

	keys := make([]string, 0, len(rec))
	for k := range rec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var recs []byte
	for _, k := range keys {
		recs = append(recs, paxRecord(k, rec[k])...)
	}
	x := ustar{typ: tar.TypeXHeader, name: fit(path.Join(dir, "PaxHeaders.0", base), 100), mode: 0o644, size: int64(len(recs)), mtime: u.mtime}

	for _, b := range [][]byte{x.block(), recs, zeroBlock[:pad(int64(len(recs)))], u.block(), m} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	if n, err := io.Copy(w, content); err != nil {
		return err
	} else if n != data {
		return fmt.Errorf("wrote %d data bytes, want %d", n, data)
	}
	_, err := w.Write(zeroBlock[:pad(data)])
	return err
}

func pad(n int64) int64 { return -n & (blockSize - 1) }

// paxRecord formats one record: "%d %s=%s\n", the length counting itself.
func paxRecord(k, v string) string {
	size := len(k) + len(v) + 3
	size += len(strconv.Itoa(size))
	rec := strconv.Itoa(size) + " " + k + "=" + v + "\n"
	if len(rec) != size { // the length grew a digit
		rec = strconv.Itoa(len(rec)) + " " + k + "=" + v + "\n"
	}
	return rec
}

func validRecord(k, v string) bool {
	return k != "" && !strings.ContainsAny(k, "=\x00") && !strings.Contains(v, "\x00")
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == 0 {
			return false
		}
	}
	return true
}

// fit cuts s to at most n bytes, keeping its end (the base name).
func fit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// fits reports whether v is written in an octal field of width bytes
// (width-1 digits and a NUL).
func fits(v int64, width int) bool {
	return v >= 0 && v < 1<<(3*(width-1))
}

// ustar is the fields of one USTAR header block that writePAXSparse sets.
type ustar struct {
	name           string
	typ            byte
	mode, uid, gid int64
	size, mtime    int64
	uname, gname   string
}

func (u ustar) block() []byte {
	b := make([]byte, blockSize)
	copy(b[0:100], u.name)
	octal(b[100:108], u.mode&0o7777777)
	octal(b[108:116], u.uid)
	octal(b[116:124], u.gid)
	octal(b[124:136], u.size)
	octal(b[136:148], u.mtime)
	b[156] = u.typ
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	copy(b[265:297], u.uname)
	copy(b[297:329], u.gname)
	octal(b[329:337], 0)
	octal(b[337:345], 0)
	// The checksum counts its own field as spaces.
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func octal(field []byte, v int64) {
	s := strconv.FormatInt(v, 8)
	for len(s) < len(field)-1 {
		s = "0" + s
	}
	copy(field, s)
	field[len(field)-1] = 0
}
