using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios;

public class ScenarioParserErrorTests
{
    [Theory]
    // Unknown top-level key: at the key.
    [InlineData("name: x\nstepz: []\nsteps: []", 2, 1, "unknown key 'stepz' in the top level")]
    // Unknown op: at the op's value.
    [InlineData("steps:\n  - { op: mapp, iova: 0 }", 2, 11, "unknown op 'mapp'")]
    // Unknown field for an op: at the key.
    [InlineData("steps:\n  - op: map\n    iova: 0\n    size: 4K\n    vaddr: 0\n    color: red", 6, 5, "unknown key 'color' in op 'map'")]
    // Missing required field: at the step's map.
    [InlineData("steps:\n  - op: map\n    iova: 0\n    vaddr: 0", 2, 5, "missing required key 'size' in op 'map'")]
    [InlineData("steps:\n  - { iova: 0 }", 2, 5, "missing required key 'op'")]
    [InlineData("name: x", 1, 1, "missing required key 'steps'")]
    // Values that do not fit: at the value.
    [InlineData("steps:\n  - { op: map, iova: 0x1_0000_0000_0000_0000, size: 4K, vaddr: 0 }", 2, 22, "does not fit in 64 bits")]
    [InlineData("steps:\n  - { op: map, iova: 0, size: 2^65, vaddr: 0 }", 2, 31, "exceeds 2^64")]
    [InlineData("steps:\n  - { op: map, iova: 0, size: 4K, vaddr: 2^64 }", 2, 42, "does not fit in 64 bits")]
    [InlineData("steps:\n  - { op: map, iova: 99999999999999999999999999999999999999999999, size: 1, vaddr: 0 }", 2, 22, "128 bits")]
    [InlineData("steps:\n  - { op: map, iova: -1, size: 1, vaddr: 0 }", 2, 22, "negative")]
    [InlineData("steps:\n  - { op: map, iova: 1.5G, size: 1, vaddr: 0 }", 2, 22, "not a number")]
    // Wrong YAML type: at the value.
    [InlineData("steps:\n  - { op: map, iova: [1, 2], size: 4K, vaddr: 0 }", 2, 22, "iova must be a single value, found a list")]
    [InlineData("steps:\n  - { op: map, iova: , size: 4K, vaddr: 0 }", 2, 22, "found an empty value")]
    [InlineData("steps: { op: map }", 1, 8, "steps must be a list, found a map")]
    [InlineData("steps:\n  - map", 2, 5, "a step must be a map")]
    [InlineData("container: vfio\nsteps: []", 1, 12, "container must be a map")]
    // Bad errno name or expectation: at the value.
    [InlineData("steps:\n  - { op: get-info, expect: EFOO }", 2, 29, "'EFOO' is not a result")]
    [InlineData("steps:\n  - { op: get-info, expect: einval }", 2, 29, "'einval' is not a result")]
    [InlineData("steps:\n  - { op: get-info, expect: 22 }", 2, 29, "'22' is not a result")]
    [InlineData("steps:\n  - { op: get-info, expect: { result: Ok } }", 2, 39, "'Ok' is not a result")]
    [InlineData("steps:\n  - { op: map, iova: 0, size: 1, vaddr: 0, expect: { size: 1 } }", 2, 54, "unknown key 'size' in expect of op 'map'")]
    [InlineData("steps:\n  - { op: unmap, iova: 0, size: 1, expect: { fault: not-present } }", 2, 46, "unknown key 'fault'")]
    [InlineData("steps:\n  - { op: expect-stale, count: 0, expect: ok }", 2, 35, "unknown key 'expect' in op 'expect-stale'")]
    // Bad enum values: at the value.
    [InlineData("container: { kind: vfio-type3 }\nsteps: []", 1, 20, "'vfio-type3' is not one of vfio-type1 | vfio-type1v2 | iommufd")]
    [InlineData("container: { kernel: 5.10 }\nsteps: []", 1, 22, "'5.10' is not one of newest | 6.12 | 6.1")]
    [InlineData("iommu: { format: x86-sl-3level }\nsteps: []", 1, 18, "is not one of")]
    [InlineData("steps:\n  - { op: map, iova: 0, size: 1, vaddr: 0, flags: [read, exec] }", 2, 58, "'exec' is not one of read | write | vaddr")]
    [InlineData("steps:\n  - { op: map, iova: 0, size: 1, vaddr: 0, flags: [read, read] }", 2, 58, "given twice")]
    [InlineData("container: { domain: yes }\nsteps: []", 1, 22, "must be true or false")]
    // Structural checks of the machine.
    [InlineData("iommu: { aperture: [0x2000, 0x1000] }\nsteps: []", 1, 20, "last 0x1000 is below first 0x2000")]
    [InlineData("iommu: { page-sizes: [4K, 3K] }\nsteps: []", 1, 27, "not a power of two")]
    [InlineData("host-memory: [ { vaddr: U64_MAX, size: 2 } ]\nsteps: []", 1, 40, "passes 2^64")]
    [InlineData("machine:\n  regions:\n    - { name: a, kind: ram, size: 1 }\n    - { name: a, kind: rom, size: 1 }\nsteps: []", 4, 7, "duplicate region name 'a'")]
    [InlineData("machine:\n  regions:\n    - { name: a, kind: alias, size: 1, target: b }\nsteps: []", 3, 7, "alias target 'b'")]
    [InlineData("machine:\n  regions:\n    - { name: a, kind: ram, size: 1, target: b }\nsteps: []", 3, 38, "only an alias has a target")]
    [InlineData("machine:\n  regions:\n    - { name: a, kind: ram, size: 1, parent: b }\n    - { name: b, kind: ram, size: 1, parent: a }\nsteps: []", 3, 7, "cycle")]
    [InlineData("devices: [ { name: n }, { name: n } ]\nsteps: []", 1, 33, "duplicate device name 'n'")]
    [InlineData("devices: [ { name: n, behind: guest-iommu } ]\nsteps: []", 1, 31, "no guest-iommu")]
    [InlineData("steps:\n  - { op: replay, device: nic9 }", 2, 27, "unknown device 'nic9'")]
    [InlineData("devices: [ { name: n } ]\nsteps:\n  - { op: dma, device: n, iova: 0, length: 2, direction: write, data: abc }", 3, 71, "odd number of hex digits")]
    [InlineData("devices: [ { name: n } ]\nsteps:\n  - { op: dma, device: n, iova: 0, length: 2, direction: write, data: ab }", 3, 71, "data holds 1 bytes but length is 2")]
    [InlineData("devices: [ { name: n } ]\nsteps:\n  - { op: dma, device: n, iova: 0, length: 2M, direction: read }", 3, 44, "a dma step may move")]
    [InlineData("steps:\n  - { op: guest-invalidate, scope: global, iova: 0 }", 2, 44, "only scope: page names a range")]
    [InlineData("steps:\n  - { op: guest-invalidate, scope: page, size: 4K }", 2, 5, "missing required key 'iova'")]
    [InlineData("steps:\n  - { op: expect-mappings, mappings: [[0]] }", 2, 39, "a mapping is [iova, last]")]
    [InlineData("steps:\n  - { op: expect-listener-calls, calls: [ { op: map, iova: 0 } ] }", 2, 43, "missing required key 'size'")]
    [InlineData("steps:\n  - { op: ioas-allow-iovas, ranges: [[1, 2, 3]] }", 2, 38, "must be a pair")]
    [InlineData("steps:\n  - op: transaction\n    steps:\n      - { op: nope }", 4, 15, "unknown op 'nope'")]
    // YAML-level rejections: duplicate keys, anchors, aliases, tags, documents, top-level shape, empty files.
    [InlineData("steps: []\nsteps: []", 2, 1, "duplicate key 'steps'")]
    [InlineData("steps:\n  - { op: map, iova: 0, iova: 1, size: 1, vaddr: 0 }", 2, 25, "duplicate key 'iova'")]
    [InlineData("steps: &s []", 1, 8, "anchors (&s) are not supported")]
    [InlineData("name: &n x\nsteps:\n  - { op: map, iova: *n, size: 1, vaddr: 0 }", 1, 7, "anchors")]
    [InlineData("steps: !!seq []", 1, 8, "tags")]
    [InlineData("steps: []\n---\nsteps: []", 2, 1, "one YAML document")]
    [InlineData("- 1\n- 2", 1, 1, "the top level must be a map")]
    [InlineData("just text", 1, 1, "the top level must be a map")]
    [InlineData("", 1, 1, "empty scenario file")]
    [InlineData("# only a comment\n", 1, 1, "empty scenario file")]
    [InlineData("---\n", 1, 1, "empty scenario file")]
    [InlineData("? [a]\n: 1", 1, 3, "a map key must be a name")]
    // YAML syntax errors carry YamlDotNet's mark.
    [InlineData("steps: [", 2, 1, "YAML syntax error")] // YamlDotNet marks the end of the stream
    [InlineData("steps:\n  - { op: map\n bad", 2, 3, "YAML syntax error: malformed YAML after this point")]
    [InlineData("steps: []\n  x: 1", 2, 3, "YAML syntax error")]
    public void Invalid_file_is_rejected_at_its_position(string yaml, int line, int column, string message)
    {
        ScenarioException e = Assert.Throws<ScenarioException>(() => ScenarioParser.Parse(yaml, "bad.yaml"));
        Assert.Contains(message, e.Reason, StringComparison.Ordinal);
        Assert.Equal(("bad.yaml", line, column), (e.File, e.Line, e.Column));
        Assert.StartsWith($"bad.yaml:{line}:{column}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_rejected_not_overflowed()
    {
        string yaml = "steps: " + new string('[', 100_000) + new string(']', 100_000);
        ScenarioException e = Assert.Throws<ScenarioException>(() => ScenarioParser.Parse(yaml, "deep.yaml"));
        Assert.Contains("nesting deeper than 64", e.Reason, StringComparison.Ordinal);
        Assert.Equal(1, e.Line);
    }

    [Fact]
    public void Alias_billion_laughs_is_rejected_at_the_first_anchor()
    {
        string yaml = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\nsteps: []";
        ScenarioException e = Assert.Throws<ScenarioException>(() => ScenarioParser.Parse(yaml, "lol.yaml"));
        Assert.Equal((1, 4), (e.Line, e.Column));
    }

    [Fact]
    public void A_missing_file_is_reported_without_a_line()
    {
        string path = Path.Combine(Path.GetTempPath(), "iommukit-no-such-file-" + Guid.NewGuid().ToString("N") + ".yaml");
        ScenarioException e = Assert.Throws<ScenarioException>(() => ScenarioParser.Load(path));
        Assert.Equal(0, e.Line);
        Assert.Equal($"{path}: cannot read the file: no such file", e.Message);
    }
}
