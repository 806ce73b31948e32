package zohosim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"time"
)

// pageToken is where a list continues. Tokens are stateless: the position
// and the parameters they are bound to, sealed with a per-emulator MAC, so a
// token from another emulator or an edited one is refused.
type pageToken struct {
	offset  int
	sortBy  string
	desc    bool
	expiry  time.Time
	idsHash uint32
	scope   uint32 // the module listed, or the parent record and related list
}

type pageTokenCodec struct{ key []byte }

func newPageTokenCodec() *pageTokenCodec {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return &pageTokenCodec{key: k}
}

const pageTokenMAC = 10

func (c *pageTokenCodec) mac(b []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(b)
	return m.Sum(nil)[:pageTokenMAC]
}

func (c *pageTokenCodec) encode(t pageToken) string {
	b := binary.AppendUvarint(nil, uint64(t.offset))
	idx := 0
	for i, v := range sortByValues {
		if v == t.sortBy {
			idx = i
		}
	}
	d := byte(0)
	if t.desc {
		d = 1
	}
	b = append(b, byte(idx), d)
	b = binary.AppendVarint(b, t.expiry.Unix())
	b = binary.BigEndian.AppendUint32(b, t.idsHash)
	b = binary.BigEndian.AppendUint32(b, t.scope)
	b = append(b, c.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadToken = errors.New("bad page token")

func (c *pageTokenCodec) decode(s string) (pageToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < pageTokenMAC+8 {
		return pageToken{}, errBadToken
	}
	body, sum := b[:len(b)-pageTokenMAC], b[len(b)-pageTokenMAC:]
	if !hmac.Equal(sum, c.mac(body)) {
		return pageToken{}, errBadToken
	}
	off, n := binary.Uvarint(body)
	if n <= 0 || len(body) < n+2 {
		return pageToken{}, errBadToken
	}
	idx, d := int(body[n]), body[n+1]
	rest := body[n+2:]
	exp, m := binary.Varint(rest)
	if m <= 0 || len(rest) != m+8 || idx >= len(sortByValues) || off > 1<<40 {
		return pageToken{}, errBadToken
	}
	return pageToken{offset: int(off), sortBy: sortByValues[idx], desc: d == 1,
		expiry: time.Unix(exp, 0), idsHash: binary.BigEndian.Uint32(rest[m:]),
		scope: binary.BigEndian.Uint32(rest[m+4:])}, nil
}

func hashString(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
