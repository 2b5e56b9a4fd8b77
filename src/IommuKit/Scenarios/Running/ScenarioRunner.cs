namespace IommuKit.Scenarios;

/// <summary>
/// Runs scenario files: parses each, builds its machine with fresh executors, runs its steps in order and checks each
/// expectation.
/// </summary>
/// <remarks>
/// <para>An invalid file runs nothing and is reported with its <see cref="ScenarioException"/>; the other files still
/// run (the exit status is then 2, see <see cref="ScenarioRunResult.ExitCode"/>).</para>
/// <para>Never throws for what a file or an executor does: a step whose op has no executor fails as "not supported
/// yet", an executor exception fails its step, a setup failure fails every step of the file as "not run". Steps keep
/// running after a failed one.</para>
/// </remarks>
public sealed class ScenarioRunner
{
    private readonly ScenarioExecutorRegistry _executors;

    /// <summary>Creates a runner over <paramref name="executors"/>; <paramref name="trace"/> records trace events.</summary>
    public ScenarioRunner(ScenarioExecutorRegistry executors, bool trace = false)
    {
        ArgumentNullException.ThrowIfNull(executors);
        _executors = executors;
        TraceEnabled = trace;
    }

    /// <summary>True when trace events are recorded.</summary>
    public bool TraceEnabled { get; }

    /// <summary>Runs every file of <paramref name="paths"/> in order.</summary>
    public ScenarioRunResult RunFiles(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return new ScenarioRunResult(paths.Select(RunFile).ToArray());
    }

    /// <summary>Reads, parses and runs the file at <paramref name="path"/>.</summary>
    public ScenarioFileResult RunFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            return Run(ScenarioParser.Load(path));
        }
        catch (ScenarioException e)
        {
            return new ScenarioFileResult { File = path, Error = e };
        }
    }

    /// <summary>Parses and runs <paramref name="text"/>, naming it <paramref name="file"/>.</summary>
    public ScenarioFileResult RunText(string text, string file)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(file);
        try
        {
            return Run(ScenarioParser.Parse(text, file));
        }
        catch (ScenarioException e)
        {
            return new ScenarioFileResult { File = file, Error = e };
        }
    }

    /// <summary>Runs a parsed document.</summary>
    public ScenarioFileResult Run(ScenarioDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        return new FileRun(this, document).Run();
    }

    /// <summary>The state of one file's run; also its trace sink (events are tagged with the running step).</summary>
    private sealed class FileRun : IScenarioTrace
    {
        private readonly ScenarioRunner _runner;
        private readonly ScenarioDocument _document;
        private readonly List<StepResult> _results = [];
        private readonly List<ScenarioTraceEvent> _events = [];
        private readonly Stack<Frame> _frames = new();
        private IReadOnlyDictionary<string, IScenarioStepExecutor> _byOp = new Dictionary<string, IScenarioStepExecutor>();
        private ScenarioContext? _context;
        private long _sequence;

        public FileRun(ScenarioRunner runner, ScenarioDocument document)
        {
            _runner = runner;
            _document = document;
        }

        public bool IsEnabled => _runner.TraceEnabled;

        public void Event(string name, string arguments)
        {
            if (IsEnabled)
            {
                string path = _frames.TryPeek(out Frame? frame) ? frame.Path : string.Empty;
                _events.Add(new ScenarioTraceEvent(_sequence++, path, name ?? string.Empty, arguments ?? string.Empty));
            }
        }

        public ScenarioFileResult Run()
        {
            var context = new ScenarioContext(_document, this);
            context.AttachRunner(RunNested);
            _context = context;
            (IReadOnlyList<IScenarioStepExecutor> executors, _byOp) = _runner._executors.Create();
            string? setupFailure = Setup(context, executors);

            for (int i = 0; i < _document.Steps.Count; i++)
            {
                ScenarioStep step = _document.Steps[i];
                string path = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (setupFailure is null)
                {
                    RunStep(step, i + 1, path);
                }
                else
                {
                    Record(step, i + 1, path, StepOutcome.NotRun("setup failed"), _events.Count);
                }
            }

            return new ScenarioFileResult
            {
                File = _document.File,
                Document = _document,
                SetupFailure = setupFailure,
                Steps = _results,
                Trace = _events,
            };
        }

        private string? Setup(ScenarioContext context, IReadOnlyList<IScenarioStepExecutor> executors)
        {
            var claimed = executors.SelectMany(e => e.Sections).ToHashSet(StringComparer.Ordinal);
            foreach ((string section, SourcePosition position) in _document.Sections)
            {
                if (!claimed.Contains(section))
                {
                    return $"{position}: '{section}' is not supported yet (no executor builds it)";
                }
            }

            foreach (IScenarioStepExecutor executor in executors)
            {
                try
                {
                    executor.Initialize(context);
                }
                catch (ScenarioException e)
                {
                    return e.Message;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    return $"{_document.Position}: {executor.GetType().Name} failed to build the machine: {e.GetType().Name}: {e.Message}";
                }
            }

            return null;
        }

        private StepResult RunNested(ScenarioStep step)
        {
            if (!_frames.TryPeek(out Frame? parent))
            {
                throw new InvalidOperationException("RunNested is for the executor of a running step");
            }

            parent.Children++;
            return RunStep(step, parent.Children, $"{parent.Path}.{parent.Children}");
        }

        private StepResult RunStep(ScenarioStep step, int index, string path)
        {
            int firstEvent = _events.Count;
            _frames.Push(new Frame(path));
            StepOutcome outcome;
            try
            {
                outcome = Execute(step);
            }
            finally
            {
                _frames.Pop();
            }

            return Record(step, index, path, outcome, firstEvent);
        }

        private StepOutcome Execute(ScenarioStep step)
        {
            if (!_byOp.TryGetValue(step.Op, out IScenarioStepExecutor? executor))
            {
                return StepOutcome.NotSupported($"no executor runs op '{step.Op}'");
            }

            try
            {
                return executor.Execute(step, _context!)
                    ?? StepOutcome.NotRun($"{executor.GetType().Name} returned no outcome");
            }
            catch (ScenarioException e)
            {
                return StepOutcome.NotRun(e.Message);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // An executor bug or a caller-mistake exception from a lower layer: a failed step, not a crashed run.
                return StepOutcome.NotRun($"{executor.GetType().Name} threw {e.GetType().Name}: {e.Message}");
            }
        }

        private StepResult Record(ScenarioStep step, int index, string path, StepOutcome outcome, int firstEvent)
        {
            string? failure = ExpectationMatcher.Check(step.Expect, outcome);
            var result = new StepResult
            {
                File = _document.File,
                Index = index,
                Path = path,
                Step = step,
                Outcome = outcome,
                Passed = failure is null,
                Failure = failure,
                Sequence = _sequence++,
                Trace = _events.Skip(firstEvent).Where(e => e.StepPath == path).ToArray(),
            };
            _results.Add(result);
            return result;
        }

        private sealed class Frame(string path)
        {
            public string Path { get; } = path;

            public int Children { get; set; }
        }
    }
}
