using CsCheck;
using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios;

/// <summary>Hostile input: every text ends in a parsed document or a positioned <see cref="ScenarioException"/>, and running never throws.</summary>
public class ScenarioFuzzTests
{
    // Fixed so CI is repeatable; set CsCheck_Seed in the environment to explore other inputs.
    private const string FuzzSeed = "fv6kCLRLiF61";

    private const string Valid = """
        name: fuzz base
        iommu: { format: x86-sl-4level, page-sizes: [4K, 2M], aperture: [0, 0xffff_ffff_ffff], iotlb: { entries: 8, ways: 2 } }
        container: { kind: vfio-type1v2, dma-entry-limit: 4, domain: true, kernel: newest }
        host-memory: [ { vaddr: 0x7f00_0000_0000, size: 1G, perm: rw } ]
        machine:
          regions:
            - { name: ram0, kind: ram, offset: 0, size: 2G }
            - { name: hi, kind: alias, target: ram0, target-offset: 1G, offset: 4G, size: 1G }
          listener: vfio
        guest-iommu: { format: x86-sl-4level, caching-mode: true }
        devices: [ { name: nic0, behind: guest-iommu } ]
        steps:
          - { op: map, iova: 0x10000, size: 0x10000, vaddr: 0x7f00_0001_0000, flags: [read, write] }
          - { op: unmap, iova: 0x10000, size: 0x1000, expect: EINVAL }
          - { op: unmap, iova: 0, size: 2^64, expect: { result: ok, size: 0x10000 } }
          - { op: get-info, expect: { page-sizes: [4K, 2M], iova-ranges: [[0, U64_MAX]] } }
          - op: transaction
            steps:
              - { op: region-set, name: hi, enabled: false }
              - { op: region-del, name: hi }
          - { op: expect-listener-calls, calls: [ { op: map, iova: 0, size: 2G }, { op: unmap-all } ] }
          - { op: dma, device: nic0, iova: 0x1000, length: 2, direction: write, data: beef }
          - { op: dma, device: nic0, iova: 0, length: 2, direction: read, expect: { fault: not-present, stage: guest } }
          - { op: expect-mappings, mappings: [[0x10000, 0x1ffff, 0x7f00_0001_0000]] }
        """;

    private static readonly char[] Interesting = "{}[]:,-&*!?|>#%@`'\" \n\t0x^_KMGTUf9E\\".ToCharArray();

    private static void ParseOrPositionedError(string text)
    {
        try
        {
            ScenarioDocument doc = ScenarioParser.Parse(text, "fuzz.yaml");
            Assert.NotNull(doc.Steps);
        }
        catch (ScenarioException e)
        {
            Assert.Equal("fuzz.yaml", e.File);
            Assert.True(e.Line >= 1 && e.Column >= 1, e.Message);
            Assert.StartsWith($"fuzz.yaml:{e.Line}:{e.Column}: ", e.Message, StringComparison.Ordinal);
        }

        // Running (with fake executors) never throws either: every input ends in results or a positioned error.
        ScenarioFileResult result = new ScenarioRunner(FakeRegistry.Create(), trace: true).RunText(text, "fuzz.yaml");
        Assert.True(result.IsValid || result.Error!.Line >= 1);
    }

    [Fact]
    public void Base_scenario_is_valid()
    {
        ScenarioDocument doc = ScenarioParser.Parse(Valid, "fuzz.yaml");
        Assert.Equal(9, doc.Steps.Count);
    }

    [Fact]
    public void Random_bytes_end_in_a_document_or_a_positioned_error() =>
        Gen.Byte.Array[0, 300].Sample(
            bytes => ParseOrPositionedError(System.Text.Encoding.UTF8.GetString(bytes)),
            iter: 2000,
            threads: 1,
            seed: FuzzSeed);

    [Fact]
    public void Random_yaml_punctuation_ends_in_a_document_or_a_positioned_error() =>
        Gen.Int[0, Interesting.Length - 1].Array[0, 80].Sample(
            indices => ParseOrPositionedError(new string(indices.Select(i => Interesting[i]).ToArray())),
            iter: 2000,
            threads: 1,
            seed: FuzzSeed);

    [Fact]
    public void Mutations_of_a_valid_scenario_end_in_a_document_or_a_positioned_error()
    {
        // A mutation: (kind, position, character): 0 replaces, 1 inserts, 2 deletes, 3 duplicates the line.
        Gen<(int Kind, int Position, int Char)> mutation = Gen.Select(Gen.Int[0, 3], Gen.Int[0, Valid.Length - 1], Gen.Int[0, Interesting.Length - 1]);
        mutation.Array[1, 6].Sample(
            mutations =>
            {
                string text = Valid;
                foreach ((int kind, int position, int c) in mutations)
                {
                    int at = Math.Min(position, Math.Max(text.Length - 1, 0));
                    text = text.Length == 0 ? text : kind switch
                    {
                        0 => string.Concat(text.AsSpan(0, at), Interesting[c].ToString(), text.AsSpan(at + 1)),
                        1 => text.Insert(at, Interesting[c].ToString()),
                        2 => text.Remove(at, 1),
                        _ => DuplicateLine(text, at),
                    };
                }

                ParseOrPositionedError(text);
            },
            iter: 800,
            threads: 1,
            seed: FuzzSeed);
    }

    [Theory]
    [InlineData("steps: [ { op: map, iova: 0, size: 99999999999999999999999999999999999999999999999999999, vaddr: 0 } ]")]
    [InlineData("steps: [ { op: map, iova: 2^99999999999999999999, size: 1, vaddr: 0 } ]")]
    [InlineData("\0\0\0")]
    [InlineData("steps:\n\t- { op: map }")]
    [InlineData("%YAML 1.1\n---\nsteps: []")]
    [InlineData("%TAG ! tag:x,2000:\n---\nsteps: !foo []")]
    [InlineData("steps: [ { op: dma, device: x, iova: 0, length: U64_MAX, direction: read } ]")]
    [InlineData("{steps: []}: 1")]
    [InlineData("!<%> steps: []")] // YamlDotNet throws ArgumentException for a global tag that is not a URI
    [InlineData("steps: !<a b> []")]
    public void Hostile_inputs_end_in_a_document_or_a_positioned_error(string text) => ParseOrPositionedError(text);

    private static string DuplicateLine(string text, int at)
    {
        int start = text.LastIndexOf('\n', at) + 1;
        int end = text.IndexOf('\n', at);
        end = end < 0 ? text.Length : end + 1;
        string line = text[start..end];
        return text.Insert(start, line.EndsWith('\n') ? line : line + "\n");
    }
}
