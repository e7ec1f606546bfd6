//! Glue between the generated bindings and a [`Transform`]: instance state and error mapping.

use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;

use crate::{ipc, log::Level, Error, Info, Transform};

/// Bindings generated from `wit/transform.wit`.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "fastlane:transform/transformer",
        pub_export_macro: true,
        export_macro_name: "export_transformer",
        default_bindings_module: "fastlane_guest::__private::bindings",
    });
}

use bindings::fastlane::transform::types as wit;

thread_local! {
    // The instance built by `init`. Wasm is single-threaded; `dyn Any` because a static
    // cannot be generic over the transform type.
    static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Implements the generated `Guest` trait for any [`Transform`]; named by [`crate::export!`].
pub struct Adapter<T>(PhantomData<T>);

impl<T: Transform> bindings::Guest for Adapter<T> {
    fn describe() -> wit::Info {
        let Info {
            name,
            version,
            description,
            config_schema,
        } = T::describe();
        wit::Info {
            name,
            version,
            description,
            config_schema,
        }
    }

    fn init(config: String) -> Result<(), wit::Error> {
        let transform = T::init(&config).map_err(to_wit)?;
        INSTANCE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => {
                *slot = Some(Box::new(transform));
                Ok(())
            }
            Err(_) => Err(to_wit(Error::Failed("init called re-entrantly".into()))),
        })
    }

    fn transform(batch: Vec<u8>) -> Result<Vec<u8>, wit::Error> {
        with_instance::<T, _>(|t| t.transform_ipc(batch)).map_err(to_wit)
    }

    fn finish() -> Result<Option<Vec<u8>>, wit::Error> {
        with_instance::<T, _>(|t| match t.finish()? {
            Some(batch) => ipc::encode(batch.schema_ref(), std::slice::from_ref(&batch)).map(Some),
            None => Ok(None),
        })
        .map_err(to_wit)
    }
}

/// Runs `f` on the instance built by `init`.
fn with_instance<T: Transform, R>(f: impl FnOnce(&mut T) -> Result<R, Error>) -> Result<R, Error> {
    INSTANCE.with(|cell| {
        let mut slot = cell
            .try_borrow_mut()
            .map_err(|_| Error::Failed("transform called re-entrantly".into()))?;
        let instance = slot
            .as_mut()
            .ok_or_else(|| Error::Failed("init was not called".into()))?
            .downcast_mut::<T>()
            .ok_or_else(|| Error::Failed("instance has an unexpected type".into()))?;
        f(instance)
    })
}

fn to_wit(e: Error) -> wit::Error {
    match e {
        Error::InvalidConfig(m) => wit::Error::InvalidConfig(m),
        Error::InvalidInput(m) => wit::Error::InvalidInput(m),
        Error::Failed(m) => wit::Error::Failed(m),
    }
}

/// Calls the host's `log` import.
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
pub(crate) fn host_log(level: Level, message: &str) {
    let level = match level {
        Level::Trace => wit::Level::Trace,
        Level::Debug => wit::Level::Debug,
        Level::Info => wit::Level::Info,
        Level::Warn => wit::Level::Warn,
        Level::Error => wit::Level::Error,
    };
    bindings::log(level, message);
}
