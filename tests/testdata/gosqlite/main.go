// Command gosqlite creates, fills, queries and closes an SQLite database
// through github.com/mattn/go-sqlite3 (cgo, SQLite's C compiled in, libc
// from the host's glibc) for tests/sqlite_test.go: run natively and under
// rumpgo with the database on a volume, whose file the host's sqlite3 CLI
// then reads.
package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/mattn/go-sqlite3"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gosqlite DIR")
		os.Exit(2)
	}
	if err := run(filepath.Join(os.Args[1], "test.db")); err != nil {
		fmt.Fprintln(os.Stderr, "gosqlite:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	// The rollback journal (the default): a -journal file created and
	// deleted around each transaction, fsync, byte-range locks.
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=DELETE&_sync=FULL")
	if err != nil {
		return err
	}
	defer db.Close()
	var version string
	if err := db.QueryRow("select sqlite_version()").Scan(&version); err != nil {
		return err
	}
	for _, q := range []string{
		`create table people (id integer primary key, name text not null, born integer, note blob)`,
		`create index people_born on people(born)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	ins, err := tx.Prepare(`insert into people (name, born, note) values (?, ?, ?)`)
	if err != nil {
		return err
	}
	// Enough rows to span many pages, so the file grows and is rewritten.
	for i := 0; i < 5000; i++ {
		note := make([]byte, 100+i%200)
		for j := range note {
			note[j] = byte(i + j)
		}
		if _, err := ins.Exec(fmt.Sprintf("person %04d", i), 1900+i%120, note); err != nil {
			return err
		}
	}
	ins.Close()
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, err := db.Exec(`update people set name = name || ' (updated)' where born = 1950`); err != nil {
		return err
	}
	if _, err := db.Exec(`delete from people where id % 7 = 0`); err != nil {
		return err
	}

	var n, sumBorn, noteBytes int
	if err := db.QueryRow(`select count(*), sum(born), sum(length(note)) from people`).Scan(&n, &sumBorn, &noteBytes); err != nil {
		return err
	}
	fmt.Printf("rows %d, sum(born) %d, note bytes %d\n", n, sumBorn, noteBytes)
	rows, err := db.Query(`select id, name, born from people where born between 1950 and 1951 order by id limit 5`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, born int
		var name string
		if err := rows.Scan(&id, &name, &born); err != nil {
			return err
		}
		fmt.Printf("%d|%s|%d\n", id, name, born)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	var check string
	if err := db.QueryRow(`pragma integrity_check`).Scan(&check); err != nil {
		return err
	}
	fmt.Println("integrity_check:", check)
	if err := db.Close(); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "sqlite", version)
	return nil
}
