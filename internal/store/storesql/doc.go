// Package storesql holds what the SQL backends of [store.Store] (sqlite, postgres) share
// beyond the interface: the transaction (Tx, over a backend's Conn and Queries), the List
// query over an items table keyed by (kind, key), and the scan of its rows. Both drivers
// take $N placeholders and compare keys bytewise (SQLite's default BINARY collation,
// PostgreSQL's COLLATE "C" column). It is not for callers of a store.
package storesql
