package source

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/finding"
)

// Result is what a set of input files yields: token facts, and the problems found on the way.
type Result struct {
	Tokens []facts.Token
	Errors []error
	// Notices are inputs found by walking a directory that were not read (binary, UTF-16, symlink,
	// FIFO, device, too large, unparseable YAML with no sign of an inventory): shown, never failing.
	Notices []finding.Problem
	Files   int
	// Ignored counts the paths skipped by an ignore glob (--ignore, ignore:): not read, not notices.
	Ignored int
	// Outputs counts tokencheck's own outputs met (reports, baselines, SARIF, review plans and
	// logs): recognised by their marks and never read as inputs.
	Outputs int
}

// Selection says which of the paths a walk meets are read, and how.
type Selection struct {
	// Ignore skips the paths it matches, named or walked, files or whole directories.
	Ignore Globs
	// Inventories marks the files it matches as inventories, with or without the schema marker.
	Inventories Globs
	// Stdin is read, as an inventory named "stdin", for the path "-" (nil: "-" is a file name).
	Stdin io.Reader
	// AsWalked judges files named on the command line as if a walk had met them: an unmarked
	// look-alike inventory or an unreadable file is a notice, not an error (pre-commit names every
	// staged file).
	AsWalked bool
	// Writing are files this run is writing (its outputs' temporary files, renamed into place at
	// the end): met while walking, they are not read, and not counted, as this run's report is
	// not an input of this run (the next run counts the finished report among its own outputs).
	Writing []string
}

// MaxFileBytes caps how much of one input file is read (64 MiB). A larger file named on the command
// line, or a larger .json/.yaml/.yml file, is an error; any other larger file found by walking is a
// notice and is not read. A facts document whose schema comes first has a cap of its own
// (MaxFactsBytes).
const MaxFileBytes = 64 << 20

// MaxFactsBytes caps a facts document whose schema comes first, as scan and audit write them
// (512 MiB, about 1.6 million tokens as they write them). Such a document is decoded as a stream
// from the open file, a token at a time, so its size no longer costs memory, only time: the cap
// stays to bound how long a hostile or runaway document can keep a run busy (minutes, not hours),
// and sits well above the 300,000-token documents an enterprise audit writes (about 100 MB). A
// larger one is refused as MaxFileBytes refuses a file.
const MaxFactsBytes = 512 << 20

// factsHeadBytes is how much of a file is read first to recognise a facts document whose schema
// comes first, which is then streamed rather than read whole.
const factsHeadBytes = 64 << 10

// skippedDirs are never descended into.
var skippedDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true}

// inventorySign matches a tokens key in any quoting anywhere, as minified JSON, flow style or
// quoted keys write it; factsSign the facts schema marker.
var (
	inventorySign = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|[\s{,'"])["']?tokens["']?\s*:`) })
	factsSign     = []byte("tokencheck.facts/")
	utf8BOM       = []byte("\xef\xbb\xbf")
)

// Files reads every path (files, and directories recursively) and collects token facts from
// inventories, facts documents and template links in any other text file. A bad file is reported and
// the rest are still read. now is the time a template link's token would be created.
func Files(ctx context.Context, paths []string, cat *facts.Catalog, now time.Time) Result {
	var tokens []facts.Token
	res := Stream(ctx, paths, cat, now, 0, func(batch []facts.Token) error {
		tokens = append(tokens, batch...)
		return nil
	})
	res.Tokens = tokens
	return res
}

// DefaultBatch is how many tokens Stream hands over at a time.
const DefaultBatch = 2048

// Stream is Files without holding every token: tokens reach sink in batches of at most batch (0:
// DefaultBatch), in input order, each id once, so a large facts document is judged in bounded
// memory. Result.Tokens stays empty; an error from sink stops the walk. A file reached twice
// (check . d, inv.yaml ./inv.yaml) is read once.
func Stream(ctx context.Context, paths []string, cat *facts.Catalog, now time.Time, batch int, sink func([]facts.Token) error) Result {
	return StreamSelected(ctx, paths, Selection{}, cat, now, batch, sink)
}

// StreamSelected is Stream with a Selection: ignored paths, inventory globs, standard input.
func StreamSelected(ctx context.Context, paths []string, sel Selection, cat *facts.Catalog, now time.Time, batch int, sink func([]facts.Token) error) Result {
	if batch <= 0 {
		batch = DefaultBatch
	}
	var res Result
	b := newBatcher(batch, sink)
	read := map[string]bool{}
	// The files being written are recognised by identity (device and inode): a path through a
	// symbolic link, or another spelling, names the same file.
	var writing []os.FileInfo
	for _, w := range sel.Writing {
		if fi, err := os.Stat(w); err == nil {
			writing = append(writing, fi)
		}
	}
	isWriting := func(d fs.DirEntry) bool {
		if len(writing) == 0 {
			return false
		}
		fi, err := d.Info()
		if err != nil {
			return false
		}
		for _, w := range writing {
			if os.SameFile(fi, w) {
				return true
			}
		}
		return false
	}
	for _, p := range paths {
		if p == "-" && sel.Stdin != nil {
			if read[p] {
				continue
			}
			read[p] = true
			res.Files++
			errs, output := streamStdin(sel.Stdin, cat, now, b.add)
			res.Errors = append(res.Errors, errs...)
			if output != "" {
				res.Outputs++
			}
			continue
		}
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			named := path == p && !sel.AsWalked
			if sel.Ignore.MatchUnder(path, p) {
				res.Ignored++
				if d != nil && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if err != nil {
				res.Errors = append(res.Errors, finding.Problem{Kind: finding.Input, File: facts.Redact(path), Message: facts.Redact(unwrapPathError(err))})
				return nil
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			if d.IsDir() {
				if path != p && skippedDirs[d.Name()] {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				res.skip(path, named, "is a %s; tokencheck reads regular files only", kindOf(d.Type()))
				return nil
			}
			if key := fileKey(path); read[key] || isWriting(d) {
				return nil
			} else {
				read[key] = true
			}
			errs, notice, output := streamFile(path, named, named || sel.Inventories.MatchUnder(path, p), cat, now, b.add)
			res.Errors = append(res.Errors, errs...)
			switch {
			case output != "":
				res.Outputs++
				return nil
			case notice == noSchemaNotice:
				res.Notices = append(res.Notices, finding.Problem{Kind: finding.Notice, File: facts.Redact(filepath.ToSlash(path)),
					Message: notice + " (add it, or match the file with inventories: in .tokencheck.yaml)"})
			case notice != "":
				res.skip(path, named, "%s", notice)
			}
			res.Files++
			return b.err
		})
		if err != nil {
			res.Errors = append(res.Errors, fmt.Errorf("reading %s stopped: %w", facts.Redact(p), err))
			break
		}
	}
	b.flush()
	if b.err != nil && !errors.Is(b.err, ctx.Err()) {
		res.Errors = append(res.Errors, b.err)
	}
	res.Errors = append(res.Errors, b.dups...)
	sort.SliceStable(res.Errors, func(i, j int) bool {
		a, aok := res.Errors[i].(finding.Problem)
		b, bok := res.Errors[j].(finding.Problem)
		if !aok || !bok {
			return aok && !bok
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return res
}

// skip reports an input that was not read: an error when it was named on the command line, a
// notice when a directory walk found it.
func (res *Result) skip(path string, named bool, format string, args ...any) {
	name := facts.Redact(filepath.ToSlash(path))
	msg := facts.Redact(fmt.Sprintf(format, args...))
	if named {
		res.Errors = append(res.Errors, finding.Problem{Kind: finding.Input, File: name, Message: msg})
		return
	}
	res.Notices = append(res.Notices, finding.Problem{Kind: finding.Notice, File: name, Message: msg + " (not read)"})
}

// kindOf names a non-regular file's type.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// fileKey identifies a file however it was named (./inv.yaml, inv.yaml, dir/../inv.yaml).
func fileKey(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// readAt is where a token was read: a file and line, or an entry of a facts document.
type readAt struct {
	file  string
	line  int
	entry int // 1-based position in a facts document's tokens list; 0 elsewhere
	link  bool
}

func (r readAt) String() string {
	switch {
	case r.entry > 0:
		return fmt.Sprintf("%s token #%d", r.file, r.entry)
	case r.line > 0:
		return fmt.Sprintf("%s:%d", r.file, r.line)
	}
	return r.file
}

// batcher gathers tokens into batches for a sink, keeping the first token of each id and reporting
// the later ones where they stand. It is the only state a run keeps per token: each id is
// remembered by a 128-bit digest and its first place in 16 bytes, not by the id itself, so a
// million-token run keeps tens of MB, not the ids.
type batcher struct {
	size  int
	sink  func([]facts.Token) error
	buf   []facts.Token
	first map[idKey]firstAt
	// files are the files firstAt.file indexes, fileIndex their indexes.
	files     []string
	fileIndex map[string]uint32
	dups      []error
	err       error
}

// idKey is a token id's SHA-256 digest, truncated to 128 bits: ids that differ never share one in
// practice, crafted or not (a shared key would report the later token as a duplicate, not drop it
// silently).
type idKey [16]byte

func keyOf(id string) idKey {
	sum := sha256.Sum256([]byte(id))
	return idKey(sum[:16])
}

// firstAt is a readAt in 16 bytes: the file by its index in batcher.files. Lines and entries fit
// in 32 bits: no input file is larger than MaxFactsBytes.
type firstAt struct {
	file, line, entry uint32
	link              bool
}

func newBatcher(size int, sink func([]facts.Token) error) *batcher {
	return &batcher{size: size, sink: sink, first: map[idKey]firstAt{}, fileIndex: map[string]uint32{}}
}

func (b *batcher) add(t facts.Token, at readAt) {
	key := keyOf(t.ID)
	if prev, dup := b.first[key]; dup {
		if prev.link && at.link {
			return // the same template link again: one token, at its first place
		}
		where := ""
		if at.entry > 0 {
			where = fmt.Sprintf("token #%d: ", at.entry)
		}
		first := readAt{file: b.files[prev.file], line: int(prev.line), entry: int(prev.entry), link: prev.link}
		b.dups = append(b.dups, inputErr(at.file, at.line, "%sduplicate token id %q (first declared at %s)", where, t.ID, first))
		return
	}
	fi, ok := b.fileIndex[at.file]
	if !ok {
		fi = uint32(len(b.files))
		b.files = append(b.files, at.file)
		b.fileIndex[at.file] = fi
	}
	b.first[key] = firstAt{file: fi, line: uint32(at.line), entry: uint32(at.entry), link: at.link}
	b.buf = append(b.buf, t)
	if len(b.buf) >= b.size {
		b.flush()
	}
}

func (b *batcher) flush() {
	if len(b.buf) == 0 || b.err != nil {
		return
	}
	b.err = b.sink(b.buf)
	b.buf = nil
}

// streamFile collects one file's tokens into emit; facts documents are decoded token by token, and
// one whose schema comes first is streamed from the open file, never held whole. The notice, when
// not empty, says why the file was not read (or read only in part); output, when not empty, names
// the kind of tokencheck output the file is (not read). marked reads a YAML/JSON file as an
// inventory without the schema marker.
func streamFile(path string, named, marked bool, cat *facts.Catalog, now time.Time, emit func(facts.Token, readAt)) (errs []error, notice, output string) {
	f, size, errs, notice := openInput(path, named)
	if f == nil {
		return errs, notice, ""
	}
	defer f.Close()
	head := make([]byte, min(size, factsHeadBytes))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return inputFail(path, unwrapPathError(err)), "", ""
	}
	head = head[:n]
	if schemaFirstFacts(head) {
		errs, notice := streamFactsFile(f, size, bytes.HasPrefix(head, utf8BOM), path, named, emit)
		return errs, notice, ""
	}
	raw, errs, notice := readRest(f, size, head, path, named)
	if raw == nil {
		return errs, notice, ""
	}
	errs, notice, output = streamRaw(filepath.ToSlash(path), raw, named, marked, structured(path), cat, now, emit)
	return errs, notice, output
}

// inputFail is a file's input problem, redacted.
func inputFail(path, msg string) []error {
	return []error{finding.Problem{Kind: finding.Input, File: facts.Redact(filepath.ToSlash(path)), Message: facts.Redact(msg)}}
}

// tooLarge refuses a file over a size cap: an error when it was named or is a .json/.yaml/.yml
// file, a notice (not read) otherwise.
func tooLarge(path string, named bool, msg string) ([]error, string) {
	if named || structured(path) {
		return inputFail(path, msg), ""
	}
	return nil, msg
}

// streamFactsFile judges a facts document whose schema comes first (see schemaFirstFacts) from the
// open file f in two bounded passes, as streamRaw judges one held in memory: committed token values
// first, then the document decoded a token at a time. bom says the file starts with a UTF-8 byte
// order mark.
func streamFactsFile(f *os.File, size int64, bom bool, path string, named bool, emit func(facts.Token, readAt)) ([]error, string) {
	if size > MaxFactsBytes {
		return tooLarge(path, named, fmt.Sprintf("is %d bytes, over the %d-byte limit for a facts document", size, MaxFactsBytes))
	}
	name := filepath.ToSlash(path)
	redacted := facts.Redact(name)
	grew := fmt.Sprintf("grew over the %d-byte limit for a facts document while read", MaxFactsBytes)
	finder := facts.NewCommittedFinder(redacted, func(t facts.Token) {
		emit(t, readAt{file: t.Source.File, line: t.Source.Line})
	})
	chunk := int(max(4<<10, min(size+1, 256<<10))) // a small document costs a small buffer
	n, err := io.CopyBuffer(finder, io.NewSectionReader(f, 0, MaxFactsBytes+1), make([]byte, chunk))
	finder.Close()
	switch {
	case err != nil:
		return inputFail(path, unwrapPathError(err)), ""
	case n > MaxFactsBytes:
		return inputFail(path, grew), ""
	}
	var start int64
	if bom {
		start = int64(len(utf8BOM))
	}
	doc := io.NewSectionReader(f, start, MaxFactsBytes-start)
	in := bufio.NewReaderSize(&cappedReader{r: io.NewSectionReader(f, start, MaxFactsBytes+1-start), left: MaxFactsBytes - start, msg: grew}, min(chunk, 64<<10))
	_, errs := scrub(nil, streamFactsDocument(name, in, doc, func(t facts.Token, at readAt) {
		scrubToken(&t)
		at.file = facts.Redact(at.file)
		emit(t, at)
	}))
	return errs, ""
}

// cappedReader reads r and fails with msg past left bytes: a file that grows while read.
type cappedReader struct {
	r    io.Reader
	left int64
	msg  string
}

func (c *cappedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left < 0 {
		return 0, errors.New(c.msg)
	}
	return n, err
}

// streamStdin reads standard input ("-") as a file named on the command line, named "stdin",
// size-capped like a file.
func streamStdin(in io.Reader, cat *facts.Catalog, now time.Time, emit func(facts.Token, readAt)) ([]error, string) {
	raw, err := io.ReadAll(io.LimitReader(in, MaxFileBytes+1))
	if err != nil {
		return []error{inputErr(StdinName, 0, "%s", unwrapPathError(err))}, ""
	}
	if len(raw) > MaxFileBytes {
		return []error{inputErr(StdinName, 0, "is over the %d-byte limit for one input file", MaxFileBytes)}, ""
	}
	errs, notice, output := streamRaw(StdinName, raw, true, true, true, cat, now, emit)
	if notice != "" {
		errs = append(errs, inputErr(StdinName, 0, "%s", notice))
	}
	return errs, output
}

// streamRaw judges one input's content (see streamFile); structuredInput reads it as YAML/JSON.
func streamRaw(name string, raw []byte, named, marked, structuredInput bool, cat *facts.Catalog, now time.Time, emit func(facts.Token, readAt)) ([]error, string, string) {
	if kind := OwnOutput(raw); kind != "" {
		return nil, "", kind // tokencheck's own output is never an input
	}
	redacted := facts.Redact(name)
	for _, t := range facts.CommittedTokens(redacted, raw) {
		emit(t, readAt{file: t.Source.File, line: t.Source.Line})
	}
	if notice := skipReason(raw); notice != "" {
		return nil, notice, ""
	}
	raw = bytes.TrimPrefix(raw, utf8BOM)
	if isFactsDocument(raw) && schemaFirst(raw) {
		_, errs := scrub(nil, streamFactsDocument(name, bytes.NewReader(raw), bytes.NewReader(raw), func(t facts.Token, at readAt) {
			scrubToken(&t)
			at.file = facts.Redact(at.file)
			emit(t, at)
		}))
		return errs, "", ""
	}
	tokens, errs, notice := fileTokens(name, raw, named, marked, structuredInput, cat, now)
	tokens, errs = scrub(tokens, errs)
	for _, t := range tokens {
		emit(t, readAt{file: t.Source.File, line: t.Source.Line, link: t.Source.Kind == facts.SourceTemplateLink})
	}
	return errs, notice, ""
}

// readInput reads a regular file, at most MaxFileBytes of it (see openInput).
func readInput(path string, named bool) ([]byte, []error, string) {
	f, size, errs, notice := openInput(path, named)
	if f == nil {
		return nil, errs, notice
	}
	defer f.Close()
	return readRest(f, size, nil, path, named)
}

// openInput opens a regular file without following a swapped-in FIFO or device (the opened file
// must still be regular) and says its size. A file that is not regular is an error when named, a
// notice otherwise.
func openInput(path string, named bool) (*os.File, int64, []error, string) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, inputFail(path, unwrapPathError(err)), ""
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, inputFail(path, unwrapPathError(err)), ""
	}
	if !info.Mode().IsRegular() {
		f.Close()
		msg := fmt.Sprintf("is a %s; tokencheck reads regular files only", kindOf(info.Mode()))
		if named {
			return nil, 0, inputFail(path, msg), ""
		}
		return nil, 0, nil, msg
	}
	return f, info.Size(), nil, ""
}

// readRest reads the rest of f after head, what was read of it already, at most MaxFileBytes in
// all; size is the file's size when opened.
func readRest(f *os.File, size int64, head []byte, path string, named bool) ([]byte, []error, string) {
	if size > MaxFileBytes {
		errs, notice := tooLarge(path, named, fmt.Sprintf("is %d bytes, over the %d-byte limit for one input file", size, MaxFileBytes))
		return nil, errs, notice
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	buf.Write(head)
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileBytes+1-int64(len(head)))); err != nil {
		return nil, inputFail(path, unwrapPathError(err)), ""
	}
	if buf.Len() > MaxFileBytes {
		return nil, inputFail(path, fmt.Sprintf("grew over the %d-byte limit for one input file while read", MaxFileBytes)), ""
	}
	return buf.Bytes(), nil, ""
}

// skipReason says why a file's content is not read as text: UTF-16, or binary (a NUL byte in its
// first 8000 bytes).
func skipReason(raw []byte) string {
	head := raw[:min(len(raw), 8000)]
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}), bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return "is UTF-16 text; save it as UTF-8 for tokencheck to read it"
	case bytes.IndexByte(head, 0) >= 0:
		if utf16Like(head) {
			return "looks like UTF-16 text without a byte order mark; save it as UTF-8 for tokencheck to read it"
		}
		return "is a binary file"
	}
	return ""
}

// utf16Like reports whether most odd or most even bytes are NUL, as in ASCII text in UTF-16.
func utf16Like(b []byte) bool {
	var even, odd int
	for i, c := range b {
		if c == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	half := len(b) / 2
	return half > 0 && (even*10 >= half*9 || odd*10 >= half*9)
}

func structured(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// File collects the token facts of one file (named: errors are errors), committed token values
// included.
func File(path string, cat *facts.Catalog, now time.Time) ([]facts.Token, []error) {
	raw, errs, notice := readInput(path, true)
	if raw == nil {
		return nil, errs
	}
	committed := facts.CommittedTokens(facts.Redact(filepath.ToSlash(path)), raw)
	if notice = skipReason(raw); notice != "" {
		return committed, []error{finding.Problem{Kind: finding.Input, File: facts.Redact(filepath.ToSlash(path)), Message: notice}}
	}
	if kind := OwnOutput(raw); kind != "" {
		return nil, nil // tokencheck's own output is never an input
	}
	tokens, errs, _ := fileTokens(filepath.ToSlash(path), bytes.TrimPrefix(raw, utf8BOM), true, true, structured(path), cat, now)
	tokens, errs = scrub(tokens, errs)
	return append(committed, tokens...), errs
}

// fileTokens reads one text file: a facts document (by its schema value), an inventory (a
// .json/.yaml/.yml file with a top-level schema: tokencheck.inventory/v1, or a tokens key when
// marked, in any of its YAML documents), or any other text for template links. A structured file
// that does not parse is an error when it was named or shows a sign of being an inventory or facts
// document, and a notice otherwise. A walked file with a tokens key and no schema is not read: its
// notice is noSchemaNotice.
func fileTokens(name string, raw []byte, named, marked, structuredInput bool, cat *facts.Catalog, now time.Time) ([]facts.Token, []error, string) {
	path := name
	if isFactsDocument(raw) {
		tokens, errs := FactsDocument(name, raw)
		return tokens, errs, ""
	}
	if !structuredInput {
		tokens, errs := TemplateLinks(name, raw, cat, now)
		return tokens, errs, ""
	}
	signed := named || inventorySign().Match(raw) || bytes.Contains(raw, factsSign)
	if strings.ToLower(filepath.Ext(path)) == ".json" || (path == StdinName && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{"))) {
		// YAML accepts what JSON does not (trailing commas, comments): a .json file is held to JSON.
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			if signed {
				return nil, []error{jsonError(name, raw, err)}, ""
			}
			tokens, errs := TemplateLinks(name, raw, cat, now)
			return tokens, errs, "does not parse as JSON and shows no sign of an inventory; only its template links were read"
		}
	}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		if err := duplicateJSONKeys(name, raw); err != nil {
			return nil, []error{err}, ""
		}
	}
	docs, err := yamlDocuments(raw)
	if err != nil {
		if signed {
			return nil, []error{yamlError(name, err)}, ""
		}
		tokens, errs := TemplateLinks(name, raw, cat, now)
		return tokens, errs, fmt.Sprintf("does not parse as YAML or JSON (%s) and shows no sign of an inventory; only its template links were read", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var tokens []facts.Token
	var errs []error
	inventory, unmarked := false, false
	for _, doc := range docs {
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		schema := scalarAt(root, "schema")
		if strings.HasPrefix(schema, inventorySchemaPrefix) || (marked && hasKey(root, "tokens")) {
			inventory = true
			ts, es := Inventory(name, root, cat, now)
			tokens, errs = append(tokens, ts...), append(errs, es...)
			continue
		}
		if hasKey(root, "tokens") && !hasKey(root, "schema") {
			unmarked = true
			continue
		}
		if k := nearMiss(root); k != nil && !hasKey(root, "tokens") { // a foreign schema's own tokens key
			errs = append(errs, inputErr(name, k.Line, "top-level key %q looks like tokens but is not; an inventory's list is under tokens", k.Value))
		}
	}
	if inventory {
		return tokens, errs, ""
	}
	if unmarked {
		return nil, errs, noSchemaNotice
	}
	if len(errs) == 0 && named && len(docs) == 0 {
		errs = append(errs, inputErr(name, 0, "empty file: no inventory or facts document"))
	}
	links, linkErrs := TemplateLinks(name, raw, cat, now)
	return append(tokens, links...), append(errs, linkErrs...), ""
}

// yamlDocuments decodes every document of a YAML (or JSON) file.
func yamlDocuments(raw []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		docs = append(docs, &doc)
	}
}

// duplicateJSONKeys refuses a JSON object with a repeated top-level key: decoders keep the last
// value, so "tokens": [...] then "tokens": [] would drop the first list.
func duplicateJSONKeys(file string, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	seen := map[string]int{}
	lineAt := func(off int64) int { return 1 + bytes.Count(raw[:min(int(off), len(raw))], []byte("\n")) }
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil // a syntax error is reported by the parser
		}
		key, _ := k.(string)
		line := lineAt(dec.InputOffset())
		if first, dup := seen[key]; dup {
			return inputErr(file, line, "top-level key %q appears twice (first at line %d); refusing the file", key, first)
		}
		seen[key] = line
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// TemplateLinks turns each template link in a text file into the facts of the token it would create.
func TemplateLinks(file string, raw []byte, cat *facts.Catalog, now time.Time) ([]facts.Token, []error) {
	links := FindTemplateLinks(raw)
	if len(links) == 0 {
		return nil, nil
	}
	tokens := make([]facts.Token, 0, len(links)) // sized once: a token is large, regrowing copies them all
	var errs []error
	seen := map[string]bool{}
	for _, found := range links {
		link, problems := ParseTemplateLink(found.URL, cat)
		for _, p := range problems {
			errs = append(errs, inputErr(file, found.Line, "%s", p))
		}
		if link.Permissions == nil {
			continue
		}
		id := link.ID()
		if seen[id] {
			continue // the same link again: one token, at its first place
		}
		seen[id] = true
		t := link.Token(cat, now)
		t.ID = id
		t.Source = facts.Source{Kind: facts.SourceTemplateLink, File: file, Line: found.Line}
		tokens = append(tokens, t)
	}
	return tokens, errs
}

// FactsDocument reads tokens saved by scan or audit (schema tokencheck.facts/v1).
func FactsDocument(file string, raw []byte) ([]facts.Token, []error) {
	if err := duplicateJSONKeys(file, raw); err != nil {
		return nil, []error{err}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var doc facts.Document
	if err := dec.Decode(&doc); err != nil {
		return nil, []error{jsonError(file, raw, err)}
	}
	if err := endOfDocument(dec); err != nil {
		return nil, []error{inputErr(file, 1+bytes.Count(raw[:min(int(dec.InputOffset()), len(raw))], []byte("\n")), "%v", err)}
	}
	if doc.Schema != facts.Schema {
		return nil, []error{inputErr(file, 1, "facts schema %q is not %q", doc.Schema, facts.Schema)}
	}
	var errs []error
	out := doc.Tokens[:0]
	for i, t := range doc.Tokens {
		if t.ID == "" {
			errs = append(errs, inputErr(file, 0, "token #%d has no id", i+1))
			continue
		}
		if t.Source.Kind == "" {
			t.Source = facts.Source{Kind: facts.SourceFacts, File: file}
		}
		out = append(out, t)
	}
	return out, errs
}

// schemaFirst reports whether raw is a JSON object whose first key is "schema", as scan and audit
// write facts documents: those are decoded as a stream. Other facts documents are read whole.
func schemaFirst(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	k, err := dec.Token()
	return err == nil && k == "schema"
}

// schemaFirstFacts reports whether head, the start of a file, shows a facts document whose schema
// comes first: text (not binary, not UTF-16) that opens a JSON object with "schema":
// "tokencheck.facts/…". Such a file is what streamRaw would decode as a stream (it is never one of
// tokencheck's own outputs), so it can be streamed from the file instead. A head that ends before
// the schema value says no, and the file is read whole as before.
func schemaFirstFacts(head []byte) bool {
	if skipReason(head) != "" {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(head, utf8BOM)))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	if k, err := dec.Token(); err != nil || k != "schema" {
		return false
	}
	var v string
	return dec.Decode(&v) == nil && strings.HasPrefix(v, string(factsSign))
}

// streamFactsDocument decodes a facts document from in one token at a time, with the same
// strictness as FactsDocument: unknown fields, a wrong schema and tokens without id are errors at
// their line. doc reads the same document at offsets, for those lines only: lines are counted
// forward as errors need them, never holding the document.
func streamFactsDocument(file string, in io.Reader, doc io.ReaderAt, emit func(facts.Token, readAt)) []error {
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	lines := &lineCounter{r: doc}
	lineAt := lines.at
	// fail reports a decoding error; before is the offset before the value being decoded (-1: none).
	fail := func(err error, before int64) []error {
		return []error{decodeError(file, err, lines, doc, before, dec.InputOffset())}
	}
	if _, err := dec.Token(); err != nil { // {
		return fail(err, -1)
	}
	var errs []error
	schemaSeen, tokensSeen := false, false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return append(errs, fail(err, -1)...)
		}
		switch key {
		case "schema":
			if schemaSeen {
				return append(errs, inputErr(file, lineAt(dec.InputOffset()), "facts: top-level key schema appears twice"))
			}
			var schema string
			before := dec.InputOffset()
			if err := dec.Decode(&schema); err != nil {
				return append(errs, fail(err, before)...)
			}
			if schema != facts.Schema {
				return append(errs, inputErr(file, 1, "facts schema %q is not %q", schema, facts.Schema))
			}
			schemaSeen = true
		case "now": // the judging time of the OPA bundle's input (facts.Document.Now)
			var now string
			before := dec.InputOffset()
			if err := dec.Decode(&now); err != nil {
				return append(errs, fail(err, before)...)
			}
		case "tokens":
			if tokensSeen {
				return append(errs, inputErr(file, lineAt(dec.InputOffset()), "facts: top-level key tokens appears twice"))
			}
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return append(errs, inputErr(file, lineAt(dec.InputOffset()), "facts: tokens is not a list"))
			}
			tokensSeen = true
			for i := 1; dec.More(); i++ {
				var t facts.Token
				before := dec.InputOffset()
				if err := dec.Decode(&t); err != nil {
					return append(errs, fail(err, before)...)
				}
				if t.ID == "" {
					errs = append(errs, inputErr(file, lineAt(dec.InputOffset()), "token #%d has no id", i))
					continue
				}
				if t.Source.Kind == "" {
					t.Source = facts.Source{Kind: facts.SourceFacts, File: file}
				}
				emit(t, readAt{file: file, entry: i})
			}
			if _, err := dec.Token(); err != nil { // ]
				return append(errs, fail(err, -1)...)
			}
		default:
			return append(errs, inputErr(file, lineAt(dec.InputOffset()), "facts: unknown field %q", key))
		}
	}
	if _, err := dec.Token(); err != nil { // }: a document cut short is not a whole one
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return append(errs, fail(err, -1)...)
	}
	if err := endOfDocument(dec); err != nil {
		return append(errs, inputErr(file, lineAt(dec.InputOffset()), "%v", err))
	}
	if !schemaSeen || !tokensSeen {
		errs = append(errs, inputErr(file, 1, "facts document without schema or tokens"))
	}
	return errs
}

// endOfDocument refuses anything but white space after a facts document's closing brace: a second
// document after the first would otherwise go unread, its tokens never judged.
func endOfDocument(dec *json.Decoder) error {
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("facts: more after the document's closing brace; a facts file holds one document")
	}
	return nil
}

// decodeError places an error of a streamed facts document at its line: a syntax error where the
// decoder stopped, a value of the wrong type where the value is (its offset counts from the start
// of the value, which begins after the separator that follows before), an unknown field at the end
// of the object holding it (after); anything else (a read error) at no line.
func decodeError(file string, err error, lines *lineCounter, doc io.ReaderAt, before, after int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return inputErr(file, lines.at(syn.Offset), "JSON syntax: %v", err)
	case errors.As(err, &typ) && before >= 0:
		return inputErr(file, lines.at(valueStart(doc, before)+typ.Offset), "facts: %v", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return inputErr(file, lines.at(after), "facts: %v", err)
	}
	return inputErr(file, 0, "facts: %v", err)
}

// valueStart is where the data of the value that follows offset before begins, as the decoder
// counts it: after the white space and the one comma or colon that separate it from what precedes.
func valueStart(doc io.ReaderAt, before int64) int64 {
	var b [1]byte
	for off := before; ; off++ {
		if n, _ := doc.ReadAt(b[:], off); n == 0 {
			return before
		}
		switch b[0] {
		case ' ', '\t', '\n', '\r':
			continue
		case ',', ':':
			return off + 1
		}
		return before
	}
}

// lineCounter tells the line of an offset in a document read through r, counting newlines forward
// from the last offset asked about: a document's errors are asked about in order, so the whole
// document is counted at most once.
type lineCounter struct {
	r    io.ReaderAt
	off  int64 // counted up to here
	line int   // the line at off (0: nothing counted yet)
	buf  []byte
}

// at is the 1-based line of offset off (the last line when off is past the end).
func (c *lineCounter) at(off int64) int {
	if c.line == 0 || off < c.off {
		c.off, c.line = 0, 1
	}
	if c.buf == nil {
		c.buf = make([]byte, 32<<10)
	}
	for c.off < off {
		n, err := c.r.ReadAt(c.buf[:min(int64(len(c.buf)), off-c.off)], c.off)
		c.line += bytes.Count(c.buf[:n], []byte("\n"))
		c.off += int64(n)
		if err != nil || n == 0 {
			break
		}
	}
	return c.line
}

// isFactsDocument reports whether raw is a JSON object whose schema value is tokencheck.facts/…:
// a facts document is recognised by that value, whatever the file is called, and only by it (a
// package.json with "schema": "https://…" is not one).
func isFactsDocument(raw []byte) bool {
	if !bytes.Contains(raw, factsSign) || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return false
		}
		if k == "schema" {
			var v string
			return dec.Decode(&v) == nil && strings.HasPrefix(v, "tokencheck.facts/")
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// scalarAt is the scalar value of a mapping's key ("" when absent or not a scalar).
func scalarAt(n *yaml.Node, key string) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func hasKey(n *yaml.Node, key string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// nearMiss finds a top-level key that looks like a mistyped or disguised "tokens" (Tokens, token,
// "tokens " with trailing space, Cyrillic or Greek look-alike letters, full-width letters, zero-width
// characters), so a look-alike does not turn an inventory into a file with nothing to judge.
func nearMiss(n *yaml.Node) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := skeleton(n.Content[i].Value); k == "tokens" || k == "token" {
			return n.Content[i]
		}
	}
	return nil
}

// confusables maps letters that look like the Latin letters of "tokens" to them.
var confusables = map[rune]rune{
	'т': 't', 'Т': 't', 'τ': 't', 'Τ': 't',
	'о': 'o', 'О': 'o', 'ο': 'o', 'Ο': 'o', '0': 'o', 'ө': 'o',
	'к': 'k', 'К': 'k', 'κ': 'k', 'Κ': 'k',
	'е': 'e', 'Е': 'e', 'ε': 'e', 'Ε': 'e', 'ё': 'e',
	'п': 'n', 'ո': 'n', 'ν': 'n', 'Ν': 'n', 'Н': 'n',
	'ѕ': 's', 'Ѕ': 's', 'ꜱ': 's',
}

// skeleton folds a key for look-alike comparison: white space and invisible format characters
// dropped, full-width and look-alike letters mapped to ASCII, lower case.
func skeleton(key string) string {
	var b strings.Builder
	for _, r := range key {
		switch {
		case unicode.IsSpace(r), unicode.Is(unicode.Cf, r), r == '"', r == '\'':
			continue
		case r >= 0xff01 && r <= 0xff5e: // full-width ASCII
			r -= 0xfee0
		}
		if c, ok := confusables[r]; ok {
			r = c
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

func yamlError(file string, err error) error {
	if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
		var line int
		fmt.Sscanf(m[1], "%d", &line)
		return inputErr(file, line, "YAML syntax: %s", m[2])
	}
	return inputErr(file, 0, "YAML syntax: %s", strings.TrimPrefix(err.Error(), "yaml: "))
}

func jsonError(file string, raw []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return inputErr(file, 1+bytes.Count(raw[:min(int(syn.Offset), len(raw))], []byte("\n")), "JSON syntax: %v", err)
	case errors.As(err, &typ):
		return inputErr(file, 1+bytes.Count(raw[:min(int(typ.Offset), len(raw))], []byte("\n")), "facts: %v", err)
	}
	return inputErr(file, 0, "facts: %v", err)
}

func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// scrub redacts every token value from what a file yielded (facts.Redact): token facts (an id, a
// name, a permission key can hold a value) and error messages (a YAML error quotes its line), so
// that no report, facts document or message shows a value read from a file. The committed-token
// rule reports the value itself, by type and last four.
func scrub(tokens []facts.Token, errs []error) ([]facts.Token, []error) {
	for i := range tokens {
		scrubToken(&tokens[i])
	}
	for i, err := range errs {
		var p finding.Problem
		if errors.As(err, &p) {
			p.File, p.Source, p.Message = facts.Redact(p.File), facts.Redact(p.Source), facts.Redact(p.Message)
			errs[i] = p
			continue
		}
		if msg := err.Error(); facts.Redact(msg) != msg {
			errs[i] = errors.New(facts.Redact(msg))
		}
	}
	return tokens, errs
}

func scrubToken(t *facts.Token) {
	t.ClampTimes()
	r := facts.Redact
	t.ID, t.Name, t.Description, t.Owner, t.ResourceOwner = r(t.ID), r(t.Name), r(t.Description), r(t.Owner), r(t.ResourceOwner)
	t.ClassicReason, t.Source.File = r(t.ClassicReason), r(t.Source.File)
	for _, list := range [][]string{t.Scopes, t.ScopesEffective, t.Repositories, t.NeedsScopes, t.Unknown} {
		for i := range list {
			list[i] = r(list[i])
		}
	}
	t.Needs = scrubMap(t.Needs)
	if p := t.Permissions; p != nil {
		p.Repository, p.Organization, p.Account, p.Other = scrubMap(p.Repository), scrubMap(p.Organization), scrubMap(p.Account), scrubMap(p.Other)
	}
}

func scrubMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[facts.Redact(k)] = facts.Redact(v)
	}
	return out
}
