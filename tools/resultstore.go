package tools

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// ResultStore keeps what a bulk tool hands its caller to read later: large
// results (a bulk read's records, a bulk update's per-record outcomes), in
// pages, and small job handles (a bulk job still running when the call
// ended). Everything belongs to the caller that made it
// (permissions.CallerFrom: one bearer token, the local caller, or one stdio
// process) and to no one else, counts against that owner's quota and the
// store's byte cap, and expires after TTL.
//
// FileResults is the one-process implementation (temp files); the
// Redis-backed store of package cluster (cluster.Results: the same
// operations per owner) serves replicas behind a load balancer.
// Implementations are safe for concurrent use.
type ResultStore interface {
	// Create starts a new result of owner. It fails with ErrOwnerQuota
	// when the owner holds too many results to start another, and with
	// ErrStoreFull when the store has no room.
	Create(ctx context.Context, owner permissions.Caller) (ResultWriter, error)
	// Page returns page (1-based) of owner's result id. A result that does
	// not exist, has expired or belongs to another owner is
	// ErrResultNotFound: the three are not told apart.
	Page(ctx context.Context, owner permissions.Caller, id string, page int) (ResultPage, error)
	// List returns owner's readable results, oldest first.
	List(ctx context.Context, owner permissions.Caller) ([]ResultInfo, error)
	// Delete removes owner's result id (nothing when it is not owner's).
	Delete(ctx context.Context, owner permissions.Caller, id string) error
	// PutJob keeps a job handle (small opaque data, at most MaxJobHandle
	// bytes) for owner under id, readable for TTL.
	PutJob(ctx context.Context, owner permissions.Caller, id string, data []byte) error
	// Job returns owner's job handle id, or ErrResultNotFound.
	Job(ctx context.Context, owner permissions.Caller, id string) ([]byte, error)
	// PageSize returns how many records a page holds.
	PageSize() int
	// TTL returns how long a result or job handle stays readable.
	TTL() time.Duration
}

// ResultWriter streams the records of one new result into a ResultStore.
// It is not safe for concurrent use. A writer must end with Commit or
// Abort.
type ResultWriter interface {
	// ID returns the new result's id (32 hex digits).
	ID() string
	// Append adds one record (a JSON value). It fails with ErrOwnerQuota or
	// ErrStoreFull when the record does not fit; the writer must then be
	// aborted.
	Append(ctx context.Context, rec json.RawMessage) error
	// Commit makes the result readable by its owner.
	Commit(ctx context.Context) (ResultInfo, error)
	// Abort removes everything written so far.
	Abort(ctx context.Context) error
}

// ResultInfo describes a stored result.
type ResultInfo struct {
	ID      string
	Total   int   // records
	Pages   int   // at least 1
	Bytes   int64 // stored bytes
	Expires time.Time
}

// ResultPage is one page of a result.
type ResultPage struct {
	ResultInfo
	Page    int // 1-based
	Records []json.RawMessage
}

// MaxJobHandle bounds one job handle's data.
const MaxJobHandle = 64 << 10

// Errors of a ResultStore.
var (
	// ErrResultNotFound is a result or job handle that does not exist, has
	// expired or belongs to another caller. It matches
	// server.ErrResourceNotFound (errors.Is), so that resources/read
	// answers "resource not found".
	ErrResultNotFound error = resultNotFound{}
	// ErrOwnerQuota is a caller whose share of the store is used up.
	ErrOwnerQuota = errors.New("this caller's share of the proxy's result store is used up: read or let older results expire, or ask for fewer records")
	// ErrStoreFull is a store without room for more results.
	ErrStoreFull = errors.New("the proxy's result store is full: try again later or ask for fewer records")
)

// ErrBulkNotFound is ErrResultNotFound, under its older name.
var ErrBulkNotFound = ErrResultNotFound

type resultNotFound struct{}

func (resultNotFound) Error() string        { return "not found, expired or made by another caller" }
func (resultNotFound) Is(target error) bool { return target == server.ErrResourceNotFound }
