package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
	"github.com/tidemark-mdm/tidemark/storage/storagetest"
)

func TestDDMConformance(t *testing.T) {
	storagetest.RunDDM(t, func(t *testing.T) storage.Store {
		path := filepath.Join(t.TempDir(), "tidemark.db")
		s := openAt(t, path)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			checkFile(t, path)
		})
		return s
	})
}
