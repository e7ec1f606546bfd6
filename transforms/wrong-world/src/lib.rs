//! `wrong-world`: TEST ONLY. A component of another world (`test:other/other`, exporting
//! `run: func() -> u32`), without arrow: the host must refuse to load it as a transform.

wit_bindgen::generate!({
    inline: "
        package test:other;

        world other {
            export run: func() -> u32;
        }
    ",
    world: "test:other/other",
});

/// Implements the other world.
struct Other;

impl Guest for Other {
    fn run() -> u32 {
        42
    }
}

export!(Other);
