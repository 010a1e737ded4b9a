// Package fsguard reads and writes the files a run is handed without trusting them: inputs must be
// regular files under a size cap (a symlink to /dev/zero or a FIFO is an error, not an
// out-of-memory or a hang), and outputs are written to a temporary file and renamed into place,
// never through a symlink and never over one of the run's inputs.
package fsguard

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Limits for the files a run reads (documented in the README).
const (
	// MaxConfigBytes caps .tokencheck.yaml and --config files.
	MaxConfigBytes = 4 << 20
	// MaxBaselineBytes caps a --baseline report (a JSON report of a large audit).
	MaxBaselineBytes = 256 << 20
	// MaxDataBytes caps each --data file.
	MaxDataBytes = 16 << 20
	// MaxPolicyBytes caps each --policy .rego file.
	MaxPolicyBytes = 1 << 20
)

// ReadRegular reads path, which must be a regular file (a symlink is followed to one) of at most
// limit bytes. what names the file's role in errors ("configuration", "data file").
func ReadRegular(path string, limit int64, what string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, unwrap(err))
	}
	if err := regular(info, limit); err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, unwrap(err))
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil { // the file opened is the file checked
		return nil, fmt.Errorf("%s %s: %w", what, path, unwrap(err))
	}
	if err := regular(info, limit); err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, unwrap(err))
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%s %s: larger than the %d-byte limit", what, path, limit)
	}
	return raw, nil
}

func regular(info fs.FileInfo, limit int64) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (%s); only regular files are read", info.Mode().Type())
	}
	if info.Size() > limit {
		return fmt.Errorf("%d bytes, larger than the %d-byte limit", info.Size(), limit)
	}
	return nil
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// WriteAtomic writes an output file through write: into a temporary file in the same directory,
// synced, then renamed over path, so a reader never sees half a report (ENOSPC, a crash). An output
// path that is a symlink, or that is one of inputs (the same file by device and inode), is refused.
func WriteAtomic(path string, inputs []string, write func(io.Writer) error) error {
	for _, in := range inputs {
		if SameFile(path, in) {
			return fmt.Errorf("output %s is also an input (%s); refusing to overwrite it", path, in)
		}
	}
	f, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Abort()
		return fmt.Errorf("output %s: %w", path, err)
	}
	return f.Commit()
}

// AtomicFile is an output file being written: a temporary file beside its path (same directory,
// so the rename cannot cross file systems), put in place whole by Commit or removed by Abort.
type AtomicFile struct {
	*os.File
	path string
}

// CreateAtomic starts writing the output file path. A path that is a symbolic link or not a
// regular file is refused, so a committed link cannot redirect a report.
func CreateAtomic(path string) (*AtomicFile, error) {
	if info, err := os.Lstat(path); err == nil {
		if info.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("output %s is a symbolic link; refusing to write through it", path)
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("output %s is not a regular file (%s)", path, info.Mode().Type())
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", path, unwrap(err))
	}
	return &AtomicFile{File: tmp, path: path}, nil
}

// Commit syncs the file and renames it over its path (mode 0644); on failure it is removed.
func (a *AtomicFile) Commit() error {
	err := a.Sync()
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(a.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(a.Name(), a.path)
	}
	if err != nil {
		os.Remove(a.Name())
		return fmt.Errorf("output %s: %w", a.path, unwrap(err))
	}
	return nil
}

// Abort removes the file unwritten; the previous file at its path, if any, stays.
func (a *AtomicFile) Abort() {
	a.Close()
	os.Remove(a.Name())
}

// SameFile reports whether two paths name the same existing file (by device and inode, so
// ./inv.yaml, inv.yaml and a hard link all match). A report written into a directory that is also
// an input is allowed: only overwriting an input file itself is refused.
func SameFile(a, b string) bool {
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(ia, ib)
}
