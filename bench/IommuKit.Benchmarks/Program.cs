using BenchmarkDotNet.Running;
using IommuKit.Benchmarks;

if (args is ["--cpu-time", ..])
{
    CpuTimeCheck.Run(args.Length > 1 ? args[1] : null);
    return;
}

if (args is ["--peers", "reverse"])
{
    PeerCheck.RunReverseLookup(); // only the container row "reverse lookup at 1M"
    return;
}

if (args is ["--peers"])
{
    PeerCheck.Run();
    return;
}

if (args is ["--cpu-time-unmap-all"])
{
    CpuTimeCheck.RunUnmapAll();
    return;
}

if (args is ["--cpu-time-containers"])
{
    CpuTimeCheck.RunContainers();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
