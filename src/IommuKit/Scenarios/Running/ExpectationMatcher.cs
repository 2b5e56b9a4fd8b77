namespace IommuKit.Scenarios;

/// <summary>Compares a step's outcome with its expectation and says what differed.</summary>
internal static class ExpectationMatcher
{
    /// <summary>Null when <paramref name="actual"/> satisfies <paramref name="expected"/>, else what differed.</summary>
    public static string? Check(StepExpectation expected, StepOutcome actual)
    {
        if (actual.NotRunReason is { } reason)
        {
            return reason;
        }

        if (expected.Fault is { } fault)
        {
            if (actual.Fault is not { } got)
            {
                return $"expected {{{fault}}}, got {actual}";
            }

            bool same = got.Kind == fault.Kind && (fault.Stage is null || fault.Stage == got.Stage);
            return same ? null : $"expected {{{fault}}}, got {{{got}}}";
        }

        if (actual.Fault is { } unexpected)
        {
            return $"expected {expected}, got {{{unexpected}}}";
        }

        if (actual.Result != expected.Result)
        {
            return $"expected {ScenarioNames.Of(expected.Result)}, got {ScenarioNames.Of(actual.Result)}";
        }

        List<string>? differences = null;
        foreach ((string name, ScenarioValue value) in expected.Outputs)
        {
            string? difference = !actual.Outputs.TryGetValue(name, out ScenarioValue? got)
                ? $"{name}: expected {value}, not reported"
                : value.Matches(got) ? null : $"{name}: expected {value}, got {got}";
            if (difference is not null)
            {
                (differences ??= []).Add(difference);
            }
        }

        return differences is null ? null : string.Join("; ", differences);
    }
}
