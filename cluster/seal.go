package cluster

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of the key that encrypts secrets at rest in Redis
// (AES-256).
const KeySize = 32

// ErrWrongKey is returned (wrapped) when Redis holds a secret that this
// replica's key cannot decrypt: every replica must have the same
// ZOHO_MCP_PROXY_REDIS_KEY. It also matches ErrUnavailable, so callers fall
// back to their local state.
var ErrWrongKey = errors.New("the shared state was encrypted with a different key: give every replica the same ZOHO_MCP_PROXY_REDIS_KEY")

// ParseKey decodes a key given as base64 (standard or URL alphabet, padded
// or not) of exactly KeySize bytes, e.g. the output of `openssl rand
// -base64 32`. Its errors never contain the key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the Redis encryption key is empty: set ZOHO_MCP_PROXY_REDIS_KEY to 32 random bytes in base64 (openssl rand -base64 32)")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("the Redis encryption key decodes to %d bytes, not %d: generate one with `openssl rand -base64 32`", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, errors.New("the Redis encryption key is not base64: generate one with `openssl rand -base64 32`")
}

// sealer encrypts small secrets with AES-256-GCM. A sealed value is
//
//	version (1 byte, 1) | key id (4 bytes) | nonce (12 bytes) | ciphertext+tag
//
// The key id (a hash of the key) tells "another key" apart from "damaged";
// the additional data binds each value to the key it is stored under, so
// one credential's token cannot be swapped in for another's.
type sealer struct {
	aead cipher.AEAD
	kid  [4]byte
}

const sealVersion = 1

func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("the Redis encryption key has %d bytes, not %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	s := &sealer{aead: aead}
	sum := sha256.Sum256(append([]byte("zoho-mcp-proxy redis key id\x00"), key...))
	copy(s.kid[:], sum[:])
	return s, nil
}

func (s *sealer) seal(plain []byte, ad string) []byte {
	out := make([]byte, 0, 1+4+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, s.kid[:]...)
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("cluster: crypto/rand failed: " + err.Error()) // cannot happen (crypto/rand never fails on supported systems)
	}
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plain, []byte(ad))
}

// errCorrupt is a sealed value that is damaged or was moved to another key.
var errCorrupt = errors.New("a sealed value in Redis is damaged")

// wrongKeyError matches ErrWrongKey and ErrUnavailable.
type wrongKeyError struct{}

func (wrongKeyError) Error() string { return ErrWrongKey.Error() }

func (wrongKeyError) Is(target error) bool { return target == ErrWrongKey || target == ErrUnavailable }

func (s *sealer) open(sealed []byte, ad string) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+4+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errCorrupt
	}
	if [4]byte(sealed[1:5]) != s.kid {
		return nil, wrongKeyError{}
	}
	nonce := sealed[5 : 5+ns]
	plain, err := s.aead.Open(nil, nonce, sealed[5+ns:], []byte(ad))
	if err != nil {
		return nil, errCorrupt
	}
	return plain, nil
}
