package policysvc

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// maxPolicyFileBytes bounds a policy file: hundreds of policies fit easily.
const maxPolicyFileBytes = 4 << 20

// ParsePolicyFile reads policies from YAML: any number of documents
// (separated by ---), each one policy, a list of policies, or a mapping
// with a "policies" list. Unknown fields are refused so a typo cannot
// silently do nothing; so are duplicate ids.
func ParsePolicyFile(data []byte) ([]enforcement.Policy, error) {
	if len(data) > maxPolicyFileBytes {
		return nil, fmt.Errorf("policy file is larger than %d bytes", maxPolicyFileBytes)
	}
	// First pass: the shape of each document. Second pass: decode each
	// strictly into the type its shape calls for (line numbers intact).
	shapes, err := documentShapes(data)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var out []enforcement.Policy
	for i, shape := range shapes {
		got, err := decodeDocument(dec, shape)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		out = append(out, got...)
	}
	seen := map[string]bool{}
	for _, p := range out {
		if seen[p.ID] {
			return nil, fmt.Errorf("policy id %q appears twice", p.ID)
		}
		seen[p.ID] = true
	}
	if len(out) == 0 {
		return nil, errors.New("no policy found in the file")
	}
	return out, nil
}

type docShape int

const (
	shapeEmpty docShape = iota
	shapePolicy
	shapeList
	shapeWrapped
)

func documentShapes(data []byte) ([]docShape, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var shapes []docShape
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return shapes, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(shapes)+1, err)
		}
		shapes = append(shapes, shapeOf(&doc))
	}
}

func shapeOf(doc *yaml.Node) docShape {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	switch n.Kind {
	case yaml.SequenceNode:
		return shapeList
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "policies" {
				return shapeWrapped
			}
		}
		return shapePolicy
	}
	return shapeEmpty
}

func decodeDocument(dec *yaml.Decoder, shape docShape) ([]enforcement.Policy, error) {
	var err error
	var out []enforcement.Policy
	switch shape {
	case shapePolicy:
		var p enforcement.Policy
		err = dec.Decode(&p)
		out = []enforcement.Policy{p}
	case shapeList:
		err = dec.Decode(&out)
	case shapeWrapped:
		var w struct {
			Policies []enforcement.Policy `yaml:"policies"`
		}
		err = dec.Decode(&w)
		out = w.Policies
	default:
		var skip yaml.Node
		err = dec.Decode(&skip)
	}
	return out, err
}
