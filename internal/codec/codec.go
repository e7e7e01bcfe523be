// Package codec encrypts Temporal payloads with AES-256-GCM. Keys come from
// PAYLOAD_CODEC_KEYS ("id1:base64key,id2:base64key"): the first encodes,
// every one decodes, and each payload names its key in its metadata, so a
// new key can be put first while runs started under the old one finish.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Environment variables.
const (
	EnvKeys = "PAYLOAD_CODEC_KEYS"
	// EnvToken is the bearer token the codec endpoint requires when set.
	EnvToken = "PAYLOAD_CODEC_TOKEN"
	// EnvOrigins lists the Web UI origins allowed to call the endpoint
	// (comma-separated; default the dev server's UI).
	EnvOrigins = "PAYLOAD_CODEC_ORIGINS"
)

// Metadata of an encrypted payload.
const (
	MetadataEncoding = "encoding"
	MetadataKeyID    = "encryption-key-id"
	// EncodingEncrypted marks an encrypted payload.
	EncodingEncrypted = "binary/encrypted"
)

// Key is one named AES-256 key.
type Key struct {
	ID  string
	Key []byte
}

// Codec is the AES-256-GCM payload codec.
type Codec struct {
	keys  []Key
	aeads map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec; keys[0] encodes. Each key must be 32 bytes and each id
// unique and non-empty.
func New(keys ...Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("no payload encryption key")
	}
	c := &Codec{keys: keys, aeads: map[string]cipher.AEAD{}}
	for i, k := range keys {
		if k.ID == "" || strings.ContainsAny(k.ID, ":, ") {
			return nil, fmt.Errorf("key %d: id %q must be non-empty, without ':', ',' or spaces", i+1, k.ID)
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("key %d: id %q appears twice", i+1, k.ID)
		}
		if len(k.Key) != 32 {
			return nil, fmt.Errorf("key %s: %d bytes, want 32 (AES-256)", k.ID, len(k.Key))
		}
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// ParseKeys parses "id1:base64key,id2:base64key" (standard or URL base64,
// padded or not). Problems never quote key material.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("%s entry %d: want id:base64key", EnvKeys, i+1)
		}
		key, err := decodeBase64(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("%s key %s: not base64", EnvKeys, strings.TrimSpace(id))
		}
		keys = append(keys, Key{ID: strings.TrimSpace(id), Key: key})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s names no key", EnvKeys)
	}
	return keys, nil
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// FromEnv builds the codec from PAYLOAD_CODEC_KEYS; nil, nil when unset.
func FromEnv() (*Codec, error) {
	s := os.Getenv(EnvKeys)
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	keys, err := ParseKeys(s)
	if err != nil {
		return nil, err
	}
	return New(keys...)
}

// EncodingKeyID is the id of the key new payloads are encrypted with.
func (c *Codec) EncodingKeyID() string { return c.keys[0].ID }

// Encode encrypts each payload (its whole protobuf, metadata included) with
// the first key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	key := c.keys[0]
	aead := c.aeads[key.ID]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("encoding payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, fmt.Errorf("encoding payload: %w", err)
		}
		// The key id is authenticated with the data, so a payload cannot be
		// relabelled to another key.
		sealed := aead.Seal(nonce, nonce, plain, []byte(key.ID))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{MetadataEncoding: []byte(EncodingEncrypted), MetadataKeyID: []byte(key.ID)},
			Data:     sealed,
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads and passes others through unchanged
// (histories written before encryption was turned on still read).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return payloads, fmt.Errorf("payload encrypted with key %q, which is not configured in %s", id, EnvKeys)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return payloads, fmt.Errorf("encrypted payload too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return payloads, fmt.Errorf("decrypting payload with key %q: %w", id, err)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return payloads, fmt.Errorf("decoding decrypted payload: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}

// DataConverter wraps the SDK's default converter with c.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter encodes failure messages and stack traces too, so error
// texts (which may quote lead data) are encrypted like payloads.
func (c *Codec) FailureConverter() converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          c.DataConverter(),
		EncodeCommonAttributes: true,
	})
}

// DataConverterFromEnv is the data converter for client.Options: encrypting
// when PAYLOAD_CODEC_KEYS is set, the SDK's default otherwise.
func DataConverterFromEnv() (converter.DataConverter, error) {
	c, err := FromEnv()
	if err != nil || c == nil {
		return converter.GetDefaultDataConverter(), err
	}
	return c.DataConverter(), nil
}

// FailureConverterFromEnv is the failure converter for client.Options,
// matching DataConverterFromEnv.
func FailureConverterFromEnv() (converter.FailureConverter, error) {
	c, err := FromEnv()
	if err != nil || c == nil {
		return temporal.GetDefaultFailureConverter(), err
	}
	return c.FailureConverter(), nil
}

// Apply sets the data and failure converters of client options from the
// environment; it reports whether encryption is on.
func Apply(opts *client.Options) (bool, error) {
	c, err := FromEnv()
	if err != nil {
		return false, err
	}
	if c == nil {
		return false, nil
	}
	opts.DataConverter = c.DataConverter()
	opts.FailureConverter = c.FailureConverter()
	return true, nil
}
