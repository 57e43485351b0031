"""The vecstore extension from Python's built-in sqlite3 module (the most common host).

Run with Debian's /usr/bin/python3 (built with enable_load_extension):
    /usr/bin/python3 bindings/sqlite/test_python.py target/release/sqlite/vecstore
"""
import json
import math
import os
import shutil
import sqlite3
import struct
import sys
import tempfile
import unittest

EXT = None


def blob(v):
    return struct.pack("<%df" % len(v), *v)


def connect(path):
    db = sqlite3.connect(path, isolation_level=None)  # explicit BEGIN/COMMIT below
    db.enable_load_extension(True)
    db.load_extension(EXT)
    db.enable_load_extension(False)
    return db


class VecstoreFromPython(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vecstore-py-")
        self.path = os.path.join(self.dir, "app.db")
        self.db = connect(self.path)
        self.db.execute("CREATE VIRTUAL TABLE docs USING vecstore(dimension=4, metric=cosine)")
        rows = [("id%d" % i, blob([math.cos(i), math.sin(i), i % 3, 1.0]), json.dumps({"par": i % 2}))
                for i in range(200)]
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO docs(id, embedding, metadata) VALUES (?, ?, ?)", rows)
        self.db.execute("COMMIT")

    def tearDown(self):
        self.db.close()
        shutil.rmtree(self.dir)

    def knn(self, v, k, flt=None, db=None):
        sql = "SELECT id, distance FROM docs WHERE embedding MATCH ? AND k = ?"
        args = [blob(v), k]
        if flt is not None:
            sql += " AND filter = ?"
            args.append(flt)
        return (db or self.db).execute(sql + " ORDER BY distance", args).fetchall()

    def test_knn_finds_each_row(self):
        for i in range(0, 200, 17):
            v = [math.cos(i), math.sin(i), i % 3, 1.0]
            got = self.knn(v, 1)
            self.assertEqual(got[0][0], "id%d" % i)
            self.assertAlmostEqual(got[0][1], 0.0, places=5)

    def test_filter_and_json_vector(self):
        got = self.db.execute(
            "SELECT id, metadata FROM docs WHERE embedding MATCH '[1, 0, 0, 1]' AND k = 5 AND filter = 'par = 1'"
        ).fetchall()
        self.assertEqual(len(got), 5)
        self.assertTrue(all(json.loads(m)["par"] == 1 for _, m in got))

    def test_blob_round_trip_and_point_lookup(self):
        (emb,) = self.db.execute("SELECT embedding FROM docs WHERE id = 'id7'").fetchone()
        self.assertEqual(emb, blob([math.cos(7), math.sin(7), 7 % 3, 1.0]))
        (rid,) = self.db.execute("SELECT rowid FROM docs WHERE id = 'id7'").fetchone()
        self.assertEqual(self.db.execute("SELECT id FROM docs WHERE rowid = ?", [rid]).fetchone(), ("id7",))

    def test_rollback_and_read_your_writes(self):
        v = [0.3, 0.3, 0.3, -1.0]
        self.db.execute("BEGIN")
        self.db.execute("INSERT INTO docs(id, embedding) VALUES ('new', ?)", [blob(v)])
        self.assertEqual(self.knn(v, 1)[0][0], "new")
        self.db.execute("ROLLBACK")
        self.assertNotEqual(self.knn(v, 1)[0][0], "new")
        self.assertIsNone(self.db.execute("SELECT id FROM docs WHERE id = 'new'").fetchone())

    def test_join_with_an_ordinary_table(self):
        self.db.execute("CREATE TABLE articles(id INTEGER PRIMARY KEY, title TEXT)")
        self.db.execute("INSERT INTO articles SELECT rowid, 'title of ' || id FROM docs")
        got = self.db.execute(
            "SELECT a.title FROM docs JOIN articles a ON a.id = docs.rowid "
            "WHERE docs.embedding MATCH ? AND docs.k = 1", [blob([math.cos(3), math.sin(3), 0, 1.0])]
        ).fetchall()
        self.assertEqual(got, [("title of id3",)])

    def test_errors_are_sqlite_errors_with_the_message(self):
        with self.assertRaisesRegex(sqlite3.OperationalError, "vector has dimension 2, the store has dimension 4"):
            self.db.execute("INSERT INTO docs(id, embedding) VALUES ('x', '[1, 2]')")
        with self.assertRaisesRegex(sqlite3.OperationalError, "filter syntax error at position"):
            self.knn([1, 0, 0, 0], 3, "par = ")
        with self.assertRaisesRegex(sqlite3.OperationalError, "k must be between 1 and 10000"):
            self.knn([1, 0, 0, 0], 0)
        with self.assertRaisesRegex(sqlite3.IntegrityError, "UNIQUE constraint failed"):
            self.db.execute("INSERT INTO docs(id, embedding) VALUES ('id1', '[1, 0, 0, 0]')")

    def test_update_delete_upsert(self):
        self.db.execute("UPDATE docs SET metadata = '{\"par\": 7}' WHERE id = 'id4'")
        self.assertEqual([r[0] for r in self.knn([1, 0, 0, 0], 10, "par = 7")], ["id4"])
        self.db.execute("DELETE FROM docs WHERE id = 'id4'")
        self.assertEqual(self.knn([1, 0, 0, 0], 10, "par = 7"), [])
        self.db.execute("INSERT OR REPLACE INTO docs(id, embedding) VALUES ('id5', '[0, 0, 0, -1]')")
        self.assertEqual(self.knn([0, 0, 0, -1], 1)[0][0], "id5")
        self.assertEqual(self.db.execute("SELECT count(*) FROM docs").fetchone(), (199,))

    def test_another_connection_after_close(self):
        self.db.execute("INSERT INTO docs(id, embedding) VALUES ('late', '[0, 0, 0, -1]')")
        self.db.close()
        db2 = connect(self.path)
        try:
            self.assertEqual(self.knn([0, 0, 0, -1], 1, db=db2)[0][0], "late")
        finally:
            db2.close()
        self.db = connect(self.path)


if __name__ == "__main__":
    EXT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
