package crmfake

import (
	"os"
	"path/filepath"
)

// SpecDir finds the vendors' OpenAPI documents: shared/specs beside the
// repository root (the directory holding go.mod), searched upwards from the
// working directory. ok is false when it does not exist.
func SpecDir() (dir string, ok bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir = filepath.Join(d, "..", "shared", "specs")
			st, err := os.Stat(dir)
			return dir, err == nil && st.IsDir()
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}
