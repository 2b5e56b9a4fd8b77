using System.Globalization;
using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios;

public class ScenarioNumberTests
{
    [Theory]
    [InlineData("0", "0")]
    [InlineData("4096", "4096")]
    [InlineData("1_000", "1000")]
    [InlineData("0x1000", "4096")]
    [InlineData("0X1000", "4096")]
    [InlineData("0xffff_ffff_ffff_f000", "18446744073709547520")]
    [InlineData("0xFFFF_ffff", "4294967295")]
    [InlineData("4K", "4096")]
    [InlineData("16K", "16384")]
    [InlineData("2M", "2097152")]
    [InlineData("1G", "1073741824")]
    [InlineData("1T", "1099511627776")]
    [InlineData("0K", "0")]
    [InlineData("2^0", "1")]
    [InlineData("2^12", "4096")]
    [InlineData("2^64", "18446744073709551616")]
    [InlineData("2^127", "170141183460469231731687303715884105728")]
    [InlineData("U64_MAX", "18446744073709551615")]
    [InlineData("18446744073709551615", "18446744073709551615")]
    [InlineData("0x1_0000_0000_0000_0000", "18446744073709551616")]
    [InlineData("340282366920938463463374607431768211455", "340282366920938463463374607431768211455")]
    public void Every_number_form_parses_to_its_value(string text, string expected)
    {
        Assert.True(ScenarioNumber.TryParse(text, out UInt128 value, out string? error), error);
        Assert.Equal(UInt128.Parse(expected, CultureInfo.InvariantCulture), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("1.5G")]
    [InlineData("4k")]
    [InlineData("0x")]
    [InlineData("0x_1")]
    [InlineData("0x1_")]
    [InlineData("0x1__0")]
    [InlineData("_1")]
    [InlineData("0x10K")]
    [InlineData("3^4")]
    [InlineData("2^")]
    [InlineData("2^128")]
    [InlineData("2^-1")]
    [InlineData("K")]
    [InlineData("12 ")]
    [InlineData("0xg")]
    [InlineData("u64_max")]
    [InlineData("340282366920938463463374607431768211456")]
    [InlineData("0x1_0000_0000_0000_0000_0000_0000_0000_0000")]
    [InlineData("340282366920938463463374607431768211455K")]
    public void Malformed_or_128_bit_overflowing_text_is_rejected_with_a_reason(string text)
    {
        Assert.False(ScenarioNumber.TryParse(text, out _, out string? error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData("2^64", true)]
    [InlineData("0x1_0000_0000_0000_0000", true)]
    [InlineData("U64_MAX", true)]
    [InlineData("2^65", false)]
    [InlineData("0x1_0000_0000_0000_0001", false)]
    [InlineData("16777216T", true)] // 2^24 * 2^40 = 2^64
    [InlineData("16777217T", false)]
    public void A_size_may_be_exactly_2_pow_64_and_no_more(string text, bool valid)
    {
        Assert.Equal(valid, ScenarioNumber.TryParseSize(text, out UInt128 value, out _));
        if (valid)
        {
            Assert.True(value <= ScenarioNumber.TwoTo64);
        }
    }

    [Theory]
    [InlineData("U64_MAX", true)]
    [InlineData("0xffff_ffff_ffff_ffff", true)]
    [InlineData("2^63", true)]
    [InlineData("2^64", false)]
    [InlineData("0x1_0000_0000_0000_0000", false)]
    [InlineData("16777216T", false)]
    public void An_address_must_fit_in_64_bits(string text, bool valid)
    {
        Assert.Equal(valid, ScenarioNumber.TryParseAddress(text, out ulong value, out string? error));
        if (!valid)
        {
            Assert.Contains("64 bits", error, StringComparison.Ordinal);
            Assert.Equal(0UL, value);
        }
    }

    [Fact]
    public void Format_writes_2_pow_64_without_wrapping()
    {
        Assert.Equal("0x10000000000000000", ScenarioNumber.Format(ScenarioNumber.TwoTo64));
        Assert.Equal("0xffffffffffffffff", ScenarioNumber.Format(ulong.MaxValue));
        Assert.Equal("0x0", ScenarioNumber.Format(0));
    }
}
