package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokencheck/tokencheck/engine/decide"
	"github.com/tokencheck/tokencheck/engine/facts"
	"github.com/tokencheck/tokencheck/engine/ghapi/ghapitest"
)

const testWebhookSecret = "It's a Secret to Everybody 7f3a"

var serveToken = mint("ghs_", "ServeInstallation000000000001")

// syncBuffer is stderr of a server the test reads while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// listenAddr waits for the server's "listening" log line and returns its address.
func listenAddr(t testing.TB, stderr func() string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(stderr()))
		for sc.Scan() {
			var l struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "listening" && l.Addr != "" {
				return l.Addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the server did not say where it listens:\n%s", stderr())
	return ""
}

// requestPayload is GitHub's personal_access_token_request delivery (the fixture) for request id.
func requestPayload(t testing.TB, id int64) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ghapitest.FixturesDir(), "webhooks", "personal_access_token_request.created.json"))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.Replace(string(raw), `"id": 25381,`, fmt.Sprintf(`"id": %d,`, id), 1))
}

func signBody(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post delivers as GitHub does; signature "" sends none.
func post(t testing.TB, addr, event, delivery string, body []byte, signature string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Errorf("delivery %s: %v", delivery, err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func waitWrites(t *testing.T, reviews *ghapitest.Reviews, n int, within time.Duration) []ghapitest.ReviewWrite {
	t.Helper()
	deadline := time.After(within)
	for {
		ch := reviews.Changed()
		if w := reviews.Writes(); len(w) >= n {
			return w
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d POST(s) within %s, want %d", len(reviews.Writes()), within, n)
		}
	}
}

// TestServeSignedDeliveryLeadsToOnePOST runs `tokencheck serve` in process on 127.0.0.1:0 against
// the fake GitHub, with a fixed installation token: a signed delivery is denied with one POST; a bad
// signature, a replay, a non-PAT event and a ping lead to none.
func TestServeSignedDeliveryLeadsToOnePOST(t *testing.T) {
	fake := ghapitest.New(t)
	reviews := fake.ServeReviews("acme", []int64{7001, 7002}, nil)
	logFile := filepath.Join(t.TempDir(), "decisions.jsonl")
	stderr := &syncBuffer{}
	var stdout bytes.Buffer
	env := map[string]string{"GH_TOKEN": serveToken, secretEnv: testWebhookSecret}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--api-url", fake.APIURL(), "--apply", "--log", logFile},
			streams{In: strings.NewReader(""), Out: &stdout, Err: stderr, Getenv: func(k string) string { return env[k] }})
	}()
	addr := listenAddr(t, stderr.String)

	body := requestPayload(t, 7001)
	if code := post(t, addr, "personal_access_token_request", "d-1", body, signBody(body, testWebhookSecret)); code != http.StatusAccepted {
		t.Fatalf("signed delivery answered %d", code)
	}
	w := waitWrites(t, reviews, 1, 10*time.Second)
	if w[0].Path != "/orgs/acme/personal-access-token-requests/7001" || w[0].Action != "deny" || w[0].Status != 204 ||
		w[0].Credential != facts.Fingerprint(serveToken) || !strings.Contains(w[0].Reason, "[dangerous-permission] dangerous permission administration:write") {
		t.Errorf("POST %+v", w[0])
	}

	other := requestPayload(t, 7002)
	for name, c := range map[string]struct {
		event, delivery string
		body            []byte
		sig             string
		want            int
	}{
		"no signature":  {"personal_access_token_request", "d-2", other, "", 401},
		"bad signature": {"personal_access_token_request", "d-3", other, signBody(other, "not the secret"), 401},
		"replay":        {"personal_access_token_request", "d-1", body, signBody(body, testWebhookSecret), 200},
		"other event":   {"push", "d-4", other, signBody(other, testWebhookSecret), 202},
		"ping":          {"ping", "d-5", []byte(`{"zen":"Keep it logically awesome."}`), signBody([]byte(`{"zen":"Keep it logically awesome."}`), testWebhookSecret), 200},
	} {
		if code := post(t, addr, c.event, c.delivery, c.body, c.sig); code != c.want {
			t.Errorf("%s: answered %d, want %d", name, code, c.want)
		}
	}
	// The decision is counted once the applier has its answer, a moment after the fake saw the POST.
	var metrics []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(metrics), `tokencheck_review_decisions_total{decision="deny",outcome="applied"} 1`) {
			break
		}
	}
	if !strings.Contains(string(metrics), `tokencheck_review_decisions_total{decision="deny",outcome="applied"} 1`) {
		t.Errorf("metrics:\n%s", metrics)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if n := len(reviews.Writes()); n != 1 {
		t.Errorf("%d POSTs, want exactly 1: %+v", n, reviews.Writes())
	}
	lines := readLog(t, logFile)
	if len(lines) != 1 || lines[0].RequestID != 7001 || lines[0].TokenID != 1847193 || lines[0].Decision != decide.ActionDeny ||
		lines[0].GitHub.Outcome != decide.OutcomeApplied || lines[0].DryRun {
		t.Errorf("decision log %+v", lines)
	}
	raw, _ := os.ReadFile(logFile)
	all := stdout.String() + stderr.String() + string(raw) + string(metrics)
	noSecrets(t, all, serveToken, testWebhookSecret)
}

func TestServeFlagErrors(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(testWebhookSecret+"\n"), 0o600)
	for name, c := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"no secret":     {nil, nil, "no webhook secret: set TOKENCHECK_WEBHOOK_SECRET or pass --webhook-secret-file"},
		"two secrets":   {map[string]string{secretEnv: testWebhookSecret}, []string{"--webhook-secret-file", secretFile}, "keep one"},
		"apply, no key": {map[string]string{secretEnv: testWebhookSecret}, []string{"--apply"}, "no credentials"},
		"bad config":    {map[string]string{secretEnv: testWebhookSecret}, []string{"--config", reviewConfig(t, "  deny: sometimes\n")}, ":2: review:"},
		"busy port":     {map[string]string{secretEnv: testWebhookSecret}, []string{"--listen", "256.0.0.1:1"}, "--listen 256.0.0.1:1:"},
	} {
		r := tokencheck(t, c.env, append([]string{"serve", "--listen", "127.0.0.1:0"}, c.args...)...)
		if r.code != exitError || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q", name, r.code, r.stderr)
		}
		noSecrets(t, r.stdout+r.stderr, testWebhookSecret)
	}
}

// buildTokencheck builds the command once per test binary run.
var buildTokencheck = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp(binDir, "serve-*")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tokencheck")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/tokencheck").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
})

// servedBinary starts the built tokencheck serve against the fake and returns its address.
func servedBinary(t *testing.T, fake *ghapitest.Server, extra ...string) (*exec.Cmd, *syncBuffer, string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("SIGTERM is a Unix signal")
	}
	bin, err := buildTokencheck()
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	if err := os.WriteFile(secretFile, []byte(testWebhookSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--api-url", fake.APIURL(), "--webhook-secret-file", secretFile, "--apply", "--workers", "1"}, extra...)...)
	cmd.Env = []string{"GH_TOKEN=" + serveToken, "PATH=" + os.Getenv("PATH")}
	stderr := &syncBuffer{}
	cmd.Stderr, cmd.Stdout = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stderr, listenAddr(t, stderr.String)
}

// TestServeSIGTERMDrainsTheQueue starts the built binary, queues five decisions (writes are paced a
// second apart, as GitHub asks), sends SIGTERM, and checks that the server stops taking deliveries
// yet writes every queued decision before it exits 0.
func TestServeSIGTERMDrainsTheQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and waits for paced writes")
	}
	fake := ghapitest.New(t)
	ids := []int64{8001, 8002, 8003, 8004, 8005}
	reviews := fake.ServeReviews("acme", ids, nil)
	logFile := filepath.Join(t.TempDir(), "decisions.jsonl")
	cmd, stderr, addr := servedBinary(t, fake, "--log", logFile, "--drain", "30s")
	for _, id := range ids {
		body := requestPayload(t, id)
		if code := post(t, addr, "personal_access_token_request", fmt.Sprintf("drain-%d", id), body, signBody(body, testWebhookSecret)); code != http.StatusAccepted {
			t.Fatalf("delivery %d answered %d", id, code)
		}
	}
	waitWrites(t, reviews, 1, 10*time.Second)
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Stopped taking deliveries: the listener is closed at once (the queue still drains).
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr + "/healthz")
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 5s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	werr := cmd.Wait()
	if werr != nil {
		t.Fatalf("exit: %v\n%s", werr, stderr.String())
	}
	var got []int64
	for _, w := range reviews.Applied() {
		got = append(got, w.ID)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("written after SIGTERM: %v, want all of %v\n%s", got, ids, stderr.String())
	}
	if lines := readLog(t, logFile); len(lines) != len(ids) {
		t.Errorf("%d log lines, want %d", len(lines), len(ids))
	}
	raw, _ := os.ReadFile(logFile)
	noSecrets(t, stderr.String()+string(raw), serveToken, testWebhookSecret)
}

// TestServeDrainDeadline: what cannot be written by --drain stays pending, is logged as failed, and
// the exit is 3.
func TestServeDrainDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	fake := ghapitest.New(t)
	ids := []int64{9001, 9002, 9003, 9004, 9005, 9006}
	reviews := fake.ServeReviews("acme", ids, nil)
	logFile := filepath.Join(t.TempDir(), "decisions.jsonl")
	cmd, stderr, addr := servedBinary(t, fake, "--log", logFile, "--drain", "1500ms")
	for _, id := range ids {
		body := requestPayload(t, id)
		post(t, addr, "personal_access_token_request", fmt.Sprintf("late-%d", id), body, signBody(body, testWebhookSecret))
	}
	waitWrites(t, reviews, 1, 10*time.Second)
	syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitIncomplete {
		t.Fatalf("exit %v, want 3\n%s", err, stderr.String())
	}
	applied := len(reviews.Applied())
	if applied == len(ids) || applied == 0 {
		t.Errorf("%d of %d written; the deadline should leave some pending", applied, len(ids))
	}
	lines := readLog(t, logFile)
	failed := 0
	for _, l := range lines {
		if l.GitHub.Outcome == decide.OutcomeFailed {
			failed++
		}
	}
	if len(lines) != len(ids) || failed != len(ids)-applied {
		t.Errorf("%d log lines, %d failed; want %d lines, %d failed (every decision not written)", len(lines), failed, len(ids), len(ids)-applied)
	}
	if !strings.Contains(stderr.String(), "stay pending for the next review sweep") {
		t.Errorf("stderr does not say what was left:\n%s", stderr.String())
	}
}

// TestServeAsGitHubApp: with --app-id/--app-key the delivery's installation id picks the token:
// one is minted for installation 4242 (the payload's) and the decision is written with it.
func TestServeAsGitHubApp(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	fake := ghapitest.New(t)
	app := &ghapitest.App{ID: 777, Key: &key.PublicKey, Org: "acme", InstallationID: 4242}
	fake.ServeApp(app, &ghapitest.Org{Login: "acme", ID: 652551})
	reviews := fake.ServeReviews("acme", []int64{7101}, nil)
	stderr := &syncBuffer{}
	env := map[string]string{secretEnv: testWebhookSecret}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--api-url", fake.APIURL(), "--apply", "--app-id", "777", "--app-key", keyFile},
			streams{In: strings.NewReader(""), Out: io.Discard, Err: stderr, Getenv: func(k string) string { return env[k] }})
	}()
	addr := listenAddr(t, stderr.String)
	body := requestPayload(t, 7101)
	if code := post(t, addr, "personal_access_token_request", "app-1", body, signBody(body, testWebhookSecret)); code != http.StatusAccepted {
		t.Fatalf("answered %d", code)
	}
	w := waitWrites(t, reviews, 1, 10*time.Second)
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d\n%s", code, stderr.String())
	}
	if w[0].Status != 204 || w[0].Action != "deny" || app.Minted() != 1 {
		t.Errorf("write %+v, %d token(s) minted", w[0], app.Minted())
	}
	if strings.Contains(stderr.String(), "BEGIN RSA") || strings.Contains(stderr.String(), "ghs_") {
		t.Errorf("a credential is in the logs:\n%s", stderr.String())
	}
}
