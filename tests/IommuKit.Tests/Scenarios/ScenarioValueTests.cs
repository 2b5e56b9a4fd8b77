using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios;

public class ScenarioValueTests
{
    private static readonly ScenarioValue Call = ScenarioValue.Map(
        new KeyValuePair<string, ScenarioValue>("op", ScenarioValue.Text("map")),
        new KeyValuePair<string, ScenarioValue>("iova", ScenarioValue.Number(0)),
        new KeyValuePair<string, ScenarioValue>("size", ScenarioValue.Number(ScenarioNumber.TwoTo64)));

    [Fact]
    public void Numbers_compare_in_128_bits_so_2_pow_64_differs_from_0()
    {
        Assert.False(ScenarioValue.Number(ScenarioNumber.TwoTo64).Matches(ScenarioValue.Number(0)));
        Assert.True(ScenarioValue.Number(ScenarioNumber.TwoTo64).Matches(ScenarioValue.Number(ScenarioNumber.TwoTo64)));
    }

    [Fact]
    public void Any_matches_everything_and_lists_need_the_same_length()
    {
        Assert.True(ScenarioValue.Any.Matches(Call));
        Assert.True(ScenarioValue.List(ScenarioValue.Number(1), ScenarioValue.Any).Matches(ScenarioValue.List(ScenarioValue.Number(1), ScenarioValue.Text("x"))));
        Assert.False(ScenarioValue.List(ScenarioValue.Number(1)).Matches(ScenarioValue.List(ScenarioValue.Number(1), ScenarioValue.Number(2))));
        Assert.False(ScenarioValue.Number(1).Matches(ScenarioValue.Text("1")));
    }

    [Fact]
    public void A_map_matches_when_every_expected_entry_matches()
    {
        var expected = ScenarioValue.Map(new KeyValuePair<string, ScenarioValue>("op", ScenarioValue.Text("map")));
        Assert.True(expected.Matches(Call));
        Assert.False(Call.Matches(expected));
        Assert.Equal(Call, ScenarioOutputs.ListenerCalls([(ListenerCallKind.Map, 0UL, ScenarioNumber.TwoTo64)]).Items[0]);
    }

    [Fact]
    public void Values_format_in_scenario_syntax()
    {
        Assert.Equal("{op: map, iova: 0, size: 0x10000000000000000}", Call.ToString());
        Assert.Equal("[0x1000, 0x200000]", ScenarioOutputs.PageSizeList(0x20_1000).ToString());
        Assert.Equal("[[0, 0xfff]]", ScenarioOutputs.Ranges([IommuKit.Addressing.IovaRange.FromFirstLast(0, 0xfff)]).ToString());
        Assert.Equal("dead", ScenarioValue.Bytes([0xde, 0xad]).ToString());
        Assert.Equal("9", ScenarioValue.Number(9).ToString());
        Assert.Equal("0xa", ScenarioValue.Number(10).ToString());
    }

    [Fact]
    public void Page_size_list_of_the_top_bit_is_2_pow_63()
    {
        ScenarioValue list = ScenarioOutputs.PageSizeList(1UL << 63);
        Assert.Equal(ScenarioValue.Number(1UL << 63), Assert.Single(list.Items));
    }
}
