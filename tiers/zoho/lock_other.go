//go:build !unix

package zoho

import "os"

// lockFile does nothing: advisory file locks are not used on this platform,
// so two processes may refresh the same grant at once.
func lockFile(*os.File) error { return nil }

// unlockFile does nothing.
func unlockFile(*os.File) error { return nil }
