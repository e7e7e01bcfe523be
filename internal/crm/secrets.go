package crm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// SecretsKeyEnv names the environment variable holding the base64 encoding
// of the 32-byte AES-256 key that encrypts integration credentials at rest.
const SecretsKeyEnv = "CRM_SECRETS_KEY"

// Credentials are an integration's write-only secret and auth, decrypted.
// Their String and GoString methods hide the values, so a stray log line or
// %v cannot print them.
type Credentials struct {
	Secret string         `json:"secret,omitempty"`
	Auth   map[string]any `json:"auth,omitempty"`
}

func (Credentials) String() string   { return "crm.Credentials{REDACTED}" }
func (Credentials) GoString() string { return "crm.Credentials{REDACTED}" }

// AuthString returns auth[key] when it is a string.
func (c Credentials) AuthString(key string) string {
	s, _ := c.Auth[key].(string)
	return s
}

// Cipher seals credentials with AES-256-GCM; the sealed form is
// nonce || ciphertext, and the integration id is bound as additional data
// so a sealed secret copied onto another integration does not open.
type Cipher struct {
	aead cipher.AEAD
}

// ErrNoSecretsKey is returned when CRM_SECRETS_KEY is not set.
var ErrNoSecretsKey = errors.New("CRM_SECRETS_KEY is not set: generate one with `openssl rand -base64 32` and export it before starting the starter and the worker")

// NewCipherFromEnv reads the key from CRM_SECRETS_KEY.
func NewCipherFromEnv() (*Cipher, error) {
	v := strings.TrimSpace(os.Getenv(SecretsKeyEnv))
	if v == "" {
		return nil, ErrNoSecretsKey
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%s is not valid base64: %w", SecretsKeyEnv, err)
	}
	return NewCipher(key)
}

// NewCipher builds a Cipher from a 32-byte key.
func NewCipher(key []byte) (*Cipher, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%s must decode to 32 bytes, got %d", SecretsKeyEnv, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead}, nil
}

// Seal encrypts credentials for the integration id.
func (c *Cipher) Seal(integrationID string, creds Credentials) ([]byte, error) {
	plain, err := json.Marshal(creds)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plain)+c.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return c.aead.Seal(nonce, nonce, plain, []byte(integrationID)), nil
}

// Open decrypts credentials sealed for the integration id.
func (c *Cipher) Open(integrationID string, sealed []byte) (Credentials, error) {
	var creds Credentials
	if len(sealed) == 0 {
		return creds, nil
	}
	n := c.aead.NonceSize()
	if len(sealed) < n+c.aead.Overhead() {
		return creds, errors.New("sealed credentials are truncated")
	}
	plain, err := c.aead.Open(nil, sealed[:n], sealed[n:], []byte(integrationID))
	if err != nil {
		return creds, errors.New("cannot decrypt credentials: wrong CRM_SECRETS_KEY or corrupted record")
	}
	err = json.Unmarshal(plain, &creds)
	return creds, err
}
