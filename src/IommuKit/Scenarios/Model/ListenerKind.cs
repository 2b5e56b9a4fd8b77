namespace IommuKit.Scenarios;

/// <summary>Which listener watches the memory map (<c>machine.listener</c>).</summary>
public enum ListenerKind
{
    /// <summary>No listener (<c>none</c>, the default when the key is absent).</summary>
    None,

    /// <summary><c>vfio</c>: QEMU's VFIO listener, shadowing RAM sections into the container.</summary>
    Vfio,
}
