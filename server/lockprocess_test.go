package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/crashtest"
)

// TestSecondServeProcessFailsFast runs the real binary twice on one data
// directory: the second `tidemark serve` must exit non-zero within a few
// seconds naming the cause, and the first must keep serving.
func TestSecondServeProcessFailsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tidemark binary")
	}
	bin := crashtest.Build(t)
	dir := crashtest.PrivateDir(t)
	first, err := crashtest.Start(bin, dir, crashtest.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Kill()

	second := crashtest.Command(bin, dir, crashtest.FreeAddr(t))
	start := time.Now()
	out, err := second.CombinedOutput()
	took := time.Since(start)
	if err == nil {
		t.Fatalf("second server on the same data directory started:\n%s", out)
	}
	if second.ProcessState.ExitCode() == 0 {
		t.Errorf("second server exited 0")
	}
	msg := string(out)
	if !strings.Contains(msg, "another tidemark server") || !strings.Contains(msg, dir) {
		t.Errorf("second server's message does not say another server holds %s:\n%s", dir, msg)
	}
	if took > 10*time.Second {
		t.Errorf("second server took %s to give up", took)
	}
	resp, err := http.Get(first.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first server stopped answering: %v", err)
	}
	resp.Body.Close()
	if err := first.Stop(); err != nil {
		t.Errorf("first server did not shut down cleanly: %v", err)
	}
}
