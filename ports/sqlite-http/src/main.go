// Command sqlite-http is the sqlite-http port's program (ports/sqlite-http):
// a small key-value service over HTTP whose data lives in an SQLite
// database through github.com/mattn/go-sqlite3 (cgo, SQLite's C compiled
// in, glibc from the host, its libraries packed by `rumpgo build`).
//
//	PUT or POST /kv/KEY   the request body becomes KEY's value
//	GET /kv/KEY           KEY's value (404 when there is none)
//	DELETE /kv/KEY        removes KEY
//	GET /kv               every KEY=VALUE, one a line, sorted
//	GET /health           "ok" once the database is open
//
// Every write is one transaction with SQLite's rollback journal (the
// default): when a request is answered, its change is in the database
// file, which the host's sqlite3 CLI can open.
package main

import (
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/mattn/go-sqlite3"
)

const maxValue = 1 << 20

func main() {
	addr := flag.String("addr", ":8080", "the address to listen on")
	dbPath := flag.String("db", "/data/kv.db", "the SQLite database file (created if absent)")
	flag.Parse()

	db, err := open(*dbPath)
	if err != nil {
		log.Fatalf("sqlite-http: %s: %v", *dbPath, err)
	}
	srv := &http.Server{Addr: *addr, Handler: handler(db)}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		srv.Close()
	}()
	var version string
	db.QueryRow("SELECT sqlite_version()").Scan(&version)
	log.Printf("sqlite-http: SQLite %s, database %s, listening on %s", version, *dbPath, *addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("sqlite-http: %v", err)
	}
	if err := db.Close(); err != nil {
		log.Fatalf("sqlite-http: closing the database: %v", err)
	}
}

// open opens (creating) the database and its one table.
func open(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000&_journal_mode=DELETE&_synchronous=FULL")
	if err != nil {
		return nil, err
	}
	// One connection: SQLite serializes writers anyway, and this keeps
	// every request on the same file handle.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func handler(db *sql.DB) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if err := db.PingContext(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	put := func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxValue))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		_, err = db.ExecContext(r.Context(), `INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, key, string(b))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "stored %s\n", key)
	}
	mux.HandleFunc("PUT /kv/{key}", put)
	mux.HandleFunc("POST /kv/{key}", put)
	mux.HandleFunc("GET /kv/{key}", func(w http.ResponseWriter, r *http.Request) {
		var v string
		err := db.QueryRowContext(r.Context(), `SELECT v FROM kv WHERE k = ?`, r.PathValue("key")).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			http.Error(w, "no such key", http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, v)
		}
	})
	mux.HandleFunc("DELETE /kv/{key}", func(w http.ResponseWriter, r *http.Request) {
		res, err := db.ExecContext(r.Context(), `DELETE FROM kv WHERE k = ?`, r.PathValue("key"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if n, _ := res.RowsAffected(); n == 0 {
			http.Error(w, "no such key", http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, "deleted %s\n", r.PathValue("key"))
	})
	mux.HandleFunc("GET /kv", func(w http.ResponseWriter, r *http.Request) {
		rows, err := db.QueryContext(r.Context(), `SELECT k, v FROM kv ORDER BY k`)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "%s=%s\n", k, v)
		}
		if err := rows.Err(); err != nil {
			log.Printf("sqlite-http: GET /kv: %v", err)
		}
	})
	return mux
}
