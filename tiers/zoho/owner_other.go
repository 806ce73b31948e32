//go:build !unix

package zoho

import "io/fs"

// ownedByMe reports true: file ownership is not checked on this platform
// (the user cache directory is already private to the user).
func ownedByMe(fs.FileInfo) bool { return true }
