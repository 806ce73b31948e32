package zohosim

import (
	"archive/zip"
	"compress/flate"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"
)

// bulkCSVValue renders a stored value the way a bulk read CSV carries it: lookups
// as their id, datetimes as the stored ISO-8601 text, multi-select values
// joined with semicolons, null as an empty cell.
func bulkCSVValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []string:
		return strings.Join(v, ";")
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case Record:
		return bulkCSVValue(v["id"])
	case map[string]any:
		return bulkCSVValue(v["id"])
	case time.Time:
		return formatTime(v)
	default:
		return fmt.Sprint(v)
	}
}

// bulkZipWriter returns a zip writer that deflates at the fastest level: an
// export is written once and read once, so speed beats ratio here.
func bulkZipWriter(w io.Writer) *zip.Writer {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	return zw
}

// bulkWriteReadZip streams a bulk read result: a zip holding name (the
// "{job_id}.csv") whose header row is cols and whose rows are the records ids
// fetched one at a time with get. Records that vanished since the snapshot
// are left out. Nothing is buffered beyond one row and the compressor's
// window, so a 200,000-row export never sits in memory.
func bulkWriteReadZip(w io.Writer, name string, cols []string, ids iter.Seq[string], get func(id string) (Record, bool)) (rows int, err error) {
	zw := bulkZipWriter(w)
	f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: seedEpoch})
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(f)
	if err := cw.Write(cols); err != nil {
		return 0, err
	}
	row := make([]string, len(cols))
	for id := range ids {
		r, ok := get(id)
		if !ok {
			continue
		}
		for i, c := range cols {
			row[i] = bulkCSVValue(r[c])
		}
		if err := cw.Write(row); err != nil {
			return rows, err
		}
		rows++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return rows, err
	}
	return rows, zw.Close()
}

// bulkWriteCSVZip writes a zip holding one CSV file name with the given rows
// (the first row is the header).
func bulkWriteCSVZip(w io.Writer, name string, rows [][]string) error {
	zw := bulkZipWriter(w)
	f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: seedEpoch})
	if err != nil {
		return err
	}
	cw := csv.NewWriter(f)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return zw.Close()
}
