package fsguard

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadRegularRefusesDevicesFIFOsAndOversizedFiles(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 11), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{zero: "not a regular file", fifo: "not a regular file", big: "limit"} {
		if _, err := ReadRegular(p, 10, "--config"); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--config") {
			t.Errorf("%s: err = %v, want %q", p, err, want)
		}
	}
	ok := filepath.Join(dir, "ok")
	if err := os.WriteFile(ok, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	if raw, err := ReadRegular(ok, 10, "--config"); err != nil || string(raw) != "0123456789" {
		t.Errorf("ReadRegular = %q, %v", raw, err)
	}
}

func TestWriteAtomicLeavesNoHalfWrittenFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report.sarif")
	if err := os.WriteFile(out, []byte("previous complete report"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteAtomic(out, nil, func(w io.Writer) error {
		io.WriteString(w, "half a rep")
		return errors.New("no space left on device")
	})
	if err == nil {
		t.Fatal("no error")
	}
	if got, _ := os.ReadFile(out); string(got) != "previous complete report" {
		t.Errorf("output = %q after a failed write", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}
	if err := WriteAtomic(out, nil, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != "new" {
		t.Errorf("output = %q", got)
	}
}

func TestWriteAtomicRefusesSymlinkOutputsAndInputs(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "out.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	write := func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }
	if err := WriteAtomic(link, nil, write); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("symlink output: err = %v", err)
	}
	inv := filepath.Join(dir, "inv.yaml")
	if err := os.WriteFile(inv, []byte("tokens: []"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(filepath.Join(dir, ".", "inv.yaml"), []string{inv}, write); err == nil || !strings.Contains(err.Error(), "also an input") {
		t.Errorf("output = input: err = %v", err)
	}
	if err := WriteAtomic(filepath.Join(dir, "report.json"), []string{dir, inv}, write); err != nil {
		t.Errorf("a report beside the inputs: %v", err)
	}
	if got, _ := os.ReadFile(target); string(got) != "keep" {
		t.Errorf("victim = %q", got)
	}
}
