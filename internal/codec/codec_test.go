package codec_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/conecrm/automation-runtime/internal/codec"
)

func key(t testing.TB, id string) codec.Key {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return codec.Key{ID: id, Key: k}
}

func envValue(keys ...codec.Key) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, k.ID+":"+base64.StdEncoding.EncodeToString(k.Key))
	}
	return strings.Join(parts, ",")
}

func TestRoundTripAndRotation(t *testing.T) {
	k1, k2 := key(t, "k1"), key(t, "k2")
	old, err := codec.New(k1)
	if err != nil {
		t.Fatal(err)
	}
	dc := old.DataConverter()
	p, err := dc.ToPayload(map[string]string{"email": "alice.tremblay@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.Data, []byte("alice")) || string(p.Metadata["encryption-key-id"]) != "k1" || string(p.Metadata["encoding"]) != "binary/encrypted" {
		t.Fatalf("payload not encrypted under k1: %v", p)
	}
	// After rotation k2 encodes and k1 still decodes.
	rotated, err := codec.New(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := rotated.DataConverter().FromPayload(p, &got); err != nil || got["email"] != "alice.tremblay@example.com" {
		t.Fatalf("rotated codec cannot read k1 payload: %v %v", got, err)
	}
	p2, _ := rotated.DataConverter().ToPayload("x")
	if string(p2.Metadata["encryption-key-id"]) != "k2" {
		t.Fatalf("rotated codec encodes with %s, want k2", p2.Metadata["encryption-key-id"])
	}
	// A codec without the key says which key is missing.
	if _, err := old.Decode([]*commonpb.Payload{p2}); err == nil || !strings.Contains(err.Error(), `"k2"`) {
		t.Fatalf("decoding a k2 payload with only k1: %v", err)
	}
	// Plain payloads (histories from before encryption) pass through.
	plain, _ := converter.GetDefaultDataConverter().ToPayload("plain")
	if out, err := rotated.Decode([]*commonpb.Payload{plain}); err != nil || out[0] != plain {
		t.Fatalf("plain payload: %v %v", out, err)
	}
}

func TestTamperingAndRelabellingFail(t *testing.T) {
	k1, k2 := key(t, "k1"), key(t, "k2")
	c, _ := codec.New(k1, k2)
	enc, err := c.Encode([]*commonpb.Payload{{Data: []byte("secret")}})
	if err != nil {
		t.Fatal(err)
	}
	flipped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: append([]byte(nil), enc[0].Data...)}
	flipped.Data[len(flipped.Data)-1] ^= 1
	if _, err := c.Decode([]*commonpb.Payload{flipped}); err == nil {
		t.Error("a modified payload decoded")
	}
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/encrypted"), "encryption-key-id": []byte("k2")}, Data: enc[0].Data}
	if _, err := c.Decode([]*commonpb.Payload{relabelled}); err == nil {
		t.Error("a payload relabelled to another key decoded")
	}
}

func TestParseKeys(t *testing.T) {
	k1, k2 := key(t, "k1"), key(t, "k2")
	keys, err := codec.ParseKeys(" " + envValue(k1, k2) + " ,")
	if err != nil || len(keys) != 2 || keys[0].ID != "k1" || !bytes.Equal(keys[1].Key, k2.Key) {
		t.Fatalf("ParseKeys: %v %v", keys, err)
	}
	for _, bad := range []string{"", "k1", "k1:!!!", "k1:" + base64.StdEncoding.EncodeToString([]byte("short"))} {
		ks, err := codec.ParseKeys(bad)
		if err == nil {
			_, err = codec.New(ks...)
		}
		if err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "c2hvcnQ") {
			t.Errorf("error quotes key material: %v", err)
		}
	}
	if _, err := codec.New(k1, codec.Key{ID: "k1", Key: k2.Key}); err == nil {
		t.Error("duplicate key id accepted")
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(codec.EnvKeys, "")
	if c, err := codec.FromEnv(); c != nil || err != nil {
		t.Fatalf("unset: %v %v", c, err)
	}
	dc, err := codec.DataConverterFromEnv()
	if err != nil || dc != converter.GetDefaultDataConverter() {
		t.Fatalf("unset: want the default converter, got %T %v", dc, err)
	}
	t.Setenv(codec.EnvKeys, envValue(key(t, "k9")))
	c, err := codec.FromEnv()
	if err != nil || c == nil || c.EncodingKeyID() != "k9" {
		t.Fatalf("set: %v %v", c, err)
	}
	if _, err := codec.FailureConverterFromEnv(); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerAuthAndCORS(t *testing.T) {
	c, _ := codec.New(key(t, "k1"))
	enc, _ := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"Alice"`)}})
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	srv := httptest.NewServer(c.Handler(codec.HandlerOptions{Token: "t0k", Origins: []string{"http://ui.example"}}))
	defer srv.Close()

	req := func(method, auth, origin string) *http.Response {
		r, _ := http.NewRequest(method, srv.URL+"/decode", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := req("POST", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d", resp.StatusCode)
	}
	if resp := req("POST", "Bearer nope", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: HTTP %d", resp.StatusCode)
	}
	pre := req("OPTIONS", "", "http://ui.example")
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "http://ui.example" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: HTTP %d %v", pre.StatusCode, pre.Header)
	}
	if other := req("OPTIONS", "", "http://evil.example"); other.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS allowed an unknown origin")
	}
	resp := req("POST", "Bearer t0k", "http://ui.example")
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(buf.String(), base64.StdEncoding.EncodeToString([]byte(`"Alice"`))) {
		t.Errorf("decode: HTTP %d %s", resp.StatusCode, buf.String())
	}
}
