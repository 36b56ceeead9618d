// Package catalog embeds the release catalog fixture, so the demo and
// benchmarks ship with it. See README.md here for what it contains.
package catalog

import _ "embed"

// Fixture is fixture.json: a catalog in Apple's pmv shape as of 2026-11-21.
//
//go:embed fixture.json
var Fixture []byte
