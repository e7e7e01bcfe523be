package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// Automation is one automation at one version. Versions are immutable:
// every accepted change adds one, and runs keep the version they enrolled with.
type Automation struct {
	ID string
	// Seq numbers the versions of an automation from 1.
	Seq int
	// Version is the plan's content hash of the canonical document.
	Version string
	// ContentHash hashes the whole document, UI fields included.
	ContentHash string
	// Document is the automation JSON as stored, without record metadata.
	Document json.RawMessage
	Active   bool
	Deleted  bool
	// CreatedAt is when the automation was created; UpdatedAt when its
	// current version (or activity) was written.
	CreatedAt, UpdatedAt time.Time
	// Franchise is the franchise the automation belongs to (its
	// document's franchise.id).
	Franchise string
	// CreatedBy, ModifiedBy and DeletedBy are the ConeCRM user ids of
	// whoever did it, when known; DeletedAt is zero unless deleted.
	CreatedBy, ModifiedBy, DeletedBy string
	DeletedAt                        time.Time
}

// NewVersion is a version to write.
type NewVersion struct {
	ID          string
	Version     string
	ContentHash string
	Document    json.RawMessage
	Active      bool
	// SourceHash, for imports, is the hash of the imported file.
	SourceHash string
	// Franchise is the document's franchise.id.
	Franchise string
	// By is the user id of whoever writes it, when known.
	By string
}

const selectCurrent = `SELECT a.id, v.seq, v.version, v.content_hash, v.document, a.active, a.deleted, a.created_at, a.updated_at,
	a.franchise_id, a.created_by, a.modified_by, a.deleted_by, a.deleted_at
	FROM automations a JOIN automation_versions v ON v.automation_id = a.id AND v.seq = a.current_seq`

func scanAutomation(sc interface{ Scan(...any) error }) (Automation, error) {
	var (
		a               Automation
		doc             string
		active, deleted int
		created, upd    int64
		deletedAt       sql.NullInt64
	)
	if err := sc.Scan(&a.ID, &a.Seq, &a.Version, &a.ContentHash, &doc, &active, &deleted, &created, &upd,
		&a.Franchise, &a.CreatedBy, &a.ModifiedBy, &a.DeletedBy, &deletedAt); err != nil {
		return a, err
	}
	if deletedAt.Valid {
		a.DeletedAt = fromMS(deletedAt.Int64)
	}
	a.Document = json.RawMessage(doc)
	a.Active, a.Deleted = active != 0, deleted != 0
	a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(upd)
	return a, nil
}

// List returns the current version of every automation that is not
// deleted, oldest first.
func (s *Store) List(ctx context.Context) ([]Automation, error) {
	return s.ListFranchise(ctx, "")
}

// ListFranchise is List limited to one franchise ("" lists every one).
func (s *Store) ListFranchise(ctx context.Context, franchise string) ([]Automation, error) {
	rows, err := s.db.QueryContext(ctx, s.q(selectCurrent+` WHERE a.deleted = 0 AND (? = '' OR a.franchise_id = ?) ORDER BY a.created_at, a.id`), franchise, franchise)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Automation
	for rows.Next() {
		a, err := scanAutomation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Get returns the current version, or ErrNotFound (deleted automations too).
func (s *Store) Get(ctx context.Context, id string) (Automation, error) {
	return s.get(ctx, s.db, id)
}

func (s *Store) get(ctx context.Context, ex execer, id string) (Automation, error) {
	a, err := scanAutomation(ex.QueryRowContext(ctx, s.q(selectCurrent+` WHERE a.id = ? AND a.deleted = 0`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// GetVersion returns one version of an automation, deleted or not.
func (s *Store) GetVersion(ctx context.Context, id string, seq int) (Automation, error) {
	a, err := scanAutomation(s.db.QueryRowContext(ctx, s.q(`SELECT a.id, v.seq, v.version, v.content_hash, v.document, v.active, a.deleted, a.created_at, v.created_at,
		a.franchise_id, a.created_by, a.modified_by, a.deleted_by, a.deleted_at
		FROM automations a JOIN automation_versions v ON v.automation_id = a.id WHERE a.id = ? AND v.seq = ?`), id, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// Create adds an automation at version 1; ErrExists if the id was ever used.
func (s *Store) Create(ctx context.Context, nv NewVersion) (Automation, error) {
	var out Automation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := ms(s.now())
		res, err := s.exec(ctx, tx, `INSERT INTO automations (id, current_seq, active, deleted, source_hash, created_at, updated_at, franchise_id, created_by, modified_by)
			VALUES (?, 1, ?, 0, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, nv.ID, b2i(nv.Active), nv.SourceHash, now, now, nv.Franchise, nv.By, nv.By)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrExists
		}
		if err := s.insertVersion(ctx, tx, nv, 1, now); err != nil {
			return err
		}
		out, err = s.get(ctx, tx, nv.ID)
		return err
	})
	return out, err
}

func (s *Store) insertVersion(ctx context.Context, tx *sql.Tx, nv NewVersion, seq int, now int64) error {
	_, err := s.exec(ctx, tx, `INSERT INTO automation_versions (automation_id, seq, version, content_hash, document, active, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, nv.ID, seq, nv.Version, nv.ContentHash, string(nv.Document), b2i(nv.Active), now)
	return err
}

// Update adds a version and makes it current. expectSeq, when not zero, is
// the version the change was based on: ErrConflict if another landed first.
func (s *Store) Update(ctx context.Context, expectSeq int, nv NewVersion) (Automation, error) {
	var out Automation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := ms(s.now())
		var seq int
		// The row update takes the lock that serialises writers.
		err := tx.QueryRowContext(ctx, s.q(`UPDATE automations SET current_seq = current_seq + 1, active = ?, updated_at = ?, franchise_id = ?, modified_by = ?
			WHERE id = ? AND deleted = 0 RETURNING current_seq`), b2i(nv.Active), now, nv.Franchise, nv.By, nv.ID).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if expectSeq != 0 && seq != expectSeq+1 {
			return ErrConflict
		}
		if err := s.insertVersion(ctx, tx, nv, seq, now); err != nil {
			return err
		}
		out, err = s.get(ctx, tx, nv.ID)
		return err
	})
	return out, err
}

// Delete marks an automation deleted: it stops enrolling and is no longer
// listed. Its versions stay, for the runs pinned to them.
func (s *Store) Delete(ctx context.Context, id, by string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := ms(s.now())
		res, err := s.exec(ctx, tx, `UPDATE automations SET deleted = 1, active = 0, deleted_at = ?, updated_at = ?, deleted_by = ? WHERE id = ? AND deleted = 0`, now, now, by, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// Import results.
const (
	ImportCreated   = "created"
	ImportUpdated   = "updated"
	ImportUnchanged = "unchanged"
	ImportDeleted   = "deleted"
)

// Import writes an automation read from a file, idempotently: an id not
// seen before is created; a file whose hash is the one last imported for
// that id, or whose content is already current, changes nothing (so edits
// made through the API survive restarts); a changed file adds a version.
// Deleted automations stay deleted.
func (s *Store) Import(ctx context.Context, nv NewVersion) (string, error) {
	result := ""
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := ms(s.now())
		var (
			seq, deleted int
			sourceHash   string
		)
		err := tx.QueryRowContext(ctx, s.q(`SELECT current_seq, deleted, source_hash FROM automations WHERE id = ?`), nv.ID).Scan(&seq, &deleted, &sourceHash)
		if errors.Is(err, sql.ErrNoRows) {
			res, err := s.exec(ctx, tx, `INSERT INTO automations (id, current_seq, active, deleted, source_hash, created_at, updated_at, franchise_id, created_by, modified_by)
				VALUES (?, 1, ?, 0, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, nv.ID, b2i(nv.Active), nv.SourceHash, now, now, nv.Franchise, nv.By, nv.By)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				result = ImportUnchanged // another starter imported it just now
				return nil
			}
			result = ImportCreated
			return s.insertVersion(ctx, tx, nv, 1, now)
		}
		if err != nil {
			return err
		}
		if deleted != 0 {
			result = ImportDeleted
			return nil
		}
		if sourceHash == nv.SourceHash {
			result = ImportUnchanged
			return nil
		}
		var current string
		if err := tx.QueryRowContext(ctx, s.q(`SELECT content_hash FROM automation_versions WHERE automation_id = ? AND seq = ?`), nv.ID, seq).Scan(&current); err != nil {
			return err
		}
		if current == nv.ContentHash {
			result = ImportUnchanged
			_, err := s.exec(ctx, tx, `UPDATE automations SET source_hash = ? WHERE id = ?`, nv.SourceHash, nv.ID)
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE automations SET current_seq = ?, active = ?, source_hash = ?, updated_at = ?, franchise_id = ?, modified_by = ? WHERE id = ?`,
			seq+1, b2i(nv.Active), nv.SourceHash, now, nv.Franchise, nv.By, nv.ID); err != nil {
			return err
		}
		result = ImportUpdated
		return s.insertVersion(ctx, tx, nv, seq+1, now)
	})
	return result, err
}
