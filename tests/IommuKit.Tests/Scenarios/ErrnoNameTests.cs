using IommuKit.Linux;
using IommuKit.Scenarios;

namespace IommuKit.Tests.Scenarios;

public class ErrnoNameTests
{
    // asm-generic/errno-base.h and errno.h values (x86-64 / arm64).
    [Theory]
    [InlineData("EPERM", 1)]
    [InlineData("ENOENT", 2)]
    [InlineData("E2BIG", 7)]
    [InlineData("ENOMEM", 12)]
    [InlineData("EACCES", 13)]
    [InlineData("EFAULT", 14)]
    [InlineData("EBUSY", 16)]
    [InlineData("EEXIST", 17)]
    [InlineData("ENODEV", 19)]
    [InlineData("EINVAL", 22)]
    [InlineData("ENOTTY", 25)]
    [InlineData("ENOSPC", 28)]
    [InlineData("EOVERFLOW", 75)]
    [InlineData("EMSGSIZE", 90)]
    [InlineData("EOPNOTSUPP", 95)]
    [InlineData("EADDRINUSE", 98)]
    public void Contract_errno_names_parse_to_the_linux_numbers(string name, int value)
    {
        Assert.True(ScenarioNames.TryParseErrno(name, out Errno errno));
        Assert.Equal(value, (int)errno);
        Assert.Equal(name, ScenarioNames.Of(errno));
    }

    [Theory]
    [InlineData("ok", true)]
    [InlineData("OK", false)]
    [InlineData("Ok", false)]
    [InlineData("22", false)]
    [InlineData("EINVAL,EPERM", false)]
    [InlineData("E", false)]
    [InlineData("EWHATEVER", false)]
    [InlineData("", false)]
    public void Only_ok_and_exact_errno_names_are_results(string text, bool valid) =>
        Assert.Equal(valid, ScenarioNames.TryParseErrno(text, out _));

    [Fact]
    public void Every_contract_op_is_known()
    {
        Assert.Equal(28, ScenarioOps.All.Count); // the contract's 25 plus ioas-map-range / ioas-unmap-range / expect-faults
        Assert.Equal(ScenarioOps.All.Count, ScenarioOps.All.Distinct().Count());
        Assert.Contains("expect-listener-calls", ScenarioOps.All);
    }
}
