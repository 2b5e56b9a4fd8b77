using IommuKit.MemoryMap;

namespace IommuKit.Tests.Guest;

/// <summary>A notifier that records the events it receives as text (<c>MAP {0x1000, mask 0xfff} -> 0x80000 rw</c>).</summary>
internal sealed class RecordingNotifier
{
    public RecordingNotifier(IommuNotifierFlags flags, ulong start = 0, ulong end = ulong.MaxValue)
    {
        Notifier = new IommuNotifier(flags, start, end, (_, e) =>
        {
            Events.Add(e);
            Lines.Add(e.ToString());
        });
    }

    public IommuNotifier Notifier { get; }

    public List<IommuTlbEvent> Events { get; } = [];

    public List<string> Lines { get; } = [];

    public void Clear()
    {
        Events.Clear();
        Lines.Clear();
    }
}
