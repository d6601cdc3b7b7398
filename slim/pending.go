package slim

import "encoding/json"

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func (p *Plan) chooseDevDeps() error { return nil }

func (p *Plan) chooseBuildTools() error { return nil }

func (p *Plan) protectClosure(program string) error {
	p.protected[program] = "the entrypoint's program"
	return nil
}
