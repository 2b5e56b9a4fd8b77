using BenchmarkDotNet.Running;
using IommuKit.Benchmarks;

if (args is ["--cpu-time"])
{
    CpuTimeCheck.Run();
    return;
}

if (args is ["--cpu-time-containers"])
{
    CpuTimeCheck.RunContainers();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
