// Package ddm is the pure protocol side of Apple's Declarative Device
// Management: declarations and their validation against Apple's schema,
// deterministic server and declarations tokens, the tokens and
// declaration-items documents, endpoint parsing, status-report parsing and
// merging, and previews of how a device combines software-update settings and
// queues enforcement declarations.
//
// It does no HTTP and no storage, never reads the clock, and imports only the
// standard library, internal packages and osversion.
package ddm
