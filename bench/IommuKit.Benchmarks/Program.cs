using BenchmarkDotNet.Running;
using IommuKit.Benchmarks;

if (args is ["--cpu-time"])
{
    CpuTimeCheck.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
