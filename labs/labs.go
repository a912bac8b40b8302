// Package labs holds the scenario labs: the seeds' chapters made into
// exercises. Each lab is a folder, embedded in the binary so that `go run
// ./cmd/packetwalk lab list` works anywhere without root:
//
//	NN-slug/handout.md         objectives, the seed's concept, steps (printed by `lab show`)
//	NN-slug/scenario*.yaml     the network, its traffic, expectations and questions
//	NN-slug/task-X.yaml        (optional) a scenario the student edits until its
//	                           expectations hold; solution-task-X.yaml solves it
//	NN-slug/solution.yaml      the reference answers, never printed by `show`
//
// The implementation labs (package labs/impl) are listed after these.
package labs

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/packetwalk/packetwalk/labs/scenario"
)

//go:embed [0-9][0-9]-*
var files embed.FS

// Lab is one scenario lab.
type Lab struct {
	ID    string // the folder's name, e.g. 01-http-life
	Title string // the handout's first heading
	// Handout is handout.md followed by the questions, as `show` prints
	// them (never the solution).
	Handout string
	// Scenarios are the lab's scenario files (scenario*.yaml and
	// task-*.yaml), by file name.
	Scenarios []*scenario.Scenario
	// Questions gathers the scenarios' questions, in file order.
	Questions []scenario.Question
	// Solution is the reference answers.
	Solution *scenario.Answers
	// Solved maps a task's file name to its reference solution.
	Solved map[string]*scenario.Scenario
	// Standalone is true for a lab made of one scenario file of a
	// teacher's (FromFile): its ID is the file's path, and its reference
	// answers are the questions' inline answer: keys.
	Standalone bool
	source     []byte // a standalone lab's file
}

// IsFile reports whether a lab command's argument names a scenario file
// rather than a lab: it ends in .yaml or .yml, or is an existing file.
func IsFile(arg string) bool {
	if strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
		return true
	}
	st, err := os.Stat(arg)
	return err == nil && st.Mode().IsRegular()
}

// Open returns the lab that arg names: a scenario file of one's own
// (FromFile), or an embedded lab (Get).
func Open(arg string) (*Lab, error) {
	if IsFile(arg) {
		return FromFile(arg)
	}
	return Get(arg)
}

// FromFile makes a lab of one standalone scenario file: `lab show` prints
// its title, description and questions, `lab run` runs it, and `lab
// check` grades answers against the answers written inline in it (see
// docs/labs.md).
func FromFile(file string) (*Lab, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the scenario %s: %v", file, errors.Unwrap(err))
	}
	sc, err := scenario.Parse(file, b)
	if err != nil {
		return nil, err
	}
	l := &Lab{ID: file, Title: sc.Title, Standalone: true, source: b, Solved: map[string]*scenario.Scenario{},
		Scenarios: []*scenario.Scenario{sc}, Questions: sc.Questions,
		Solution: &scenario.Answers{File: file, Values: map[string]scenario.AnswerValue{}}}
	if l.Title == "" {
		l.Title = orName(sc.Name, path.Base(file))
	}
	for _, q := range sc.Questions {
		if q.Answer != nil {
			l.Solution.Values[q.ID] = *q.Answer
		}
	}
	var h strings.Builder
	fmt.Fprintf(&h, "# %s\n", l.Title)
	if d := strings.TrimSpace(sc.Description); d != "" {
		fmt.Fprintf(&h, "\n%s\n", d)
	}
	fmt.Fprintf(&h, "\nRun it with `packetwalk lab run %s`.\n", file)
	l.Handout = h.String() + l.questionsText()
	return l, nil
}

func orName(name, def string) string {
	if name != "" {
		return name
	}
	return def
}

// Stem is the scenario's name for output files: "scenario.yaml" gives
// "trace", "scenario-ring.yaml" gives "trace-ring", "task-x.yaml" gives
// "trace-task-x".
func Stem(file string) string {
	base := strings.TrimSuffix(path.Base(file), path.Ext(file))
	switch {
	case base == "scenario":
		return "trace"
	case strings.HasPrefix(base, "scenario-"):
		return "trace-" + strings.TrimPrefix(base, "scenario-")
	case strings.HasPrefix(base, "solution-"):
		return "trace-" + strings.TrimPrefix(base, "solution-")
	}
	return "trace-" + base
}

// IsTask reports whether a scenario file is a task the student edits.
func IsTask(file string) bool { return strings.HasPrefix(path.Base(file), "task-") }

// List returns the scenario labs in course order.
func List() ([]*Lab, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	var labs []*Lab
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		l, err := load(e.Name())
		if err != nil {
			return nil, err
		}
		labs = append(labs, l)
	}
	sort.Slice(labs, func(i, j int) bool { return labs[i].ID < labs[j].ID })
	return labs, nil
}

// IDs returns every scenario lab's ID.
func IDs() []string {
	entries, _ := fs.ReadDir(files, ".")
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

// Get returns the lab with id (its folder's name, or just its number:
// "1", "01").
func Get(id string) (*Lab, error) {
	for _, have := range IDs() {
		if have == id || strings.TrimLeft(strings.SplitN(have, "-", 2)[0], "0") == strings.TrimLeft(id, "0") && id != "" {
			return load(have)
		}
	}
	return nil, fmt.Errorf("no scenario lab %q; `packetwalk lab list` lists them", id)
}

// load reads a lab's folder.
func load(id string) (*Lab, error) {
	l := &Lab{ID: id, Solved: map[string]*scenario.Scenario{}}
	handout, err := files.ReadFile(id + "/handout.md")
	if err != nil {
		return nil, fmt.Errorf("lab %s has no handout.md", id)
	}
	l.Title = strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(handout), "\n", 2)[0], "#"))
	entries, _ := fs.ReadDir(files, id)
	// scenario.yaml first (the lab's main run), then the other scenarios,
	// then the tasks, each group by name.
	rank := func(name string) int {
		switch {
		case name == "scenario.yaml":
			return 0
		case IsTask(name):
			return 2
		}
		return 1
	}
	sort.SliceStable(entries, func(i, j int) bool { return rank(entries[i].Name()) < rank(entries[j].Name()) })
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".yaml") || name == "solution.yaml" || strings.HasPrefix(name, "solution-") {
			continue
		}
		sc, err := parseEmbedded(id + "/" + name)
		if err != nil {
			return nil, err
		}
		l.Scenarios = append(l.Scenarios, sc)
		l.Questions = append(l.Questions, sc.Questions...)
		if IsTask(name) {
			sol, err := parseEmbedded(id + "/solution-" + strings.TrimPrefix(name, "task-"))
			if err != nil {
				return nil, fmt.Errorf("lab %s: task %s has no solution: %v", id, name, err)
			}
			l.Solved[name] = sol
		}
	}
	if len(l.Scenarios) == 0 {
		return nil, fmt.Errorf("lab %s has no scenario*.yaml", id)
	}
	sol, err := files.ReadFile(id + "/solution.yaml")
	if err != nil {
		return nil, fmt.Errorf("lab %s has no solution.yaml", id)
	}
	if l.Solution, err = scenario.ParseAnswers("labs/"+id+"/solution.yaml", sol); err != nil {
		return nil, err
	}
	l.Handout = string(handout) + l.questionsText()
	return l, nil
}

func parseEmbedded(name string) (*scenario.Scenario, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return scenario.Parse("labs/"+name, b)
}

// ScenarioFile returns the embedded text of one of the lab's scenario
// files, for a student to copy and edit.
func (l *Lab) ScenarioFile(name string) ([]byte, error) {
	if l.Standalone {
		if path.Base(name) != path.Base(l.ID) {
			return nil, fmt.Errorf("%s is the only file of this lab", l.ID)
		}
		return l.source, nil
	}
	return files.ReadFile(l.ID + "/" + path.Base(name))
}

// FindScenario returns the lab's scenario whose file is named name.
func (l *Lab) FindScenario(name string) *scenario.Scenario {
	for _, sc := range l.Scenarios {
		if path.Base(sc.File) == path.Base(name) {
			return sc
		}
	}
	return nil
}

// questionsText renders the questions for the handout, with the format
// of the answers file.
func (l *Lab) questionsText() string {
	if len(l.Questions) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Questions\n\nAnswer in a YAML file, one line per question (`id: answer`), and grade it with\n`packetwalk lab check " + l.ID + " --answers answers.yaml`.\n\n")
	for _, q := range l.Questions {
		kind := map[string]string{"number": "a number", "choice": "a letter or the choice's text", "text": "a word or a few"}[q.Type]
		fmt.Fprintf(&b, "- **%s** (%s): %s\n", q.ID, kind, q.Ask)
		for i, c := range q.Choices {
			fmt.Fprintf(&b, "    - (%c) %s\n", 'a'+i, c)
		}
	}
	return b.String()
}
