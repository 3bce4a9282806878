//! A small macro that writes the commonware-codec impls for plain structs whose fields all
//! decode without configuration. Field order is the wire order.

/// Implements `Write`, `EncodeSize` and `Read<Cfg = ()>` for a struct, field by field.
#[macro_export]
macro_rules! impl_struct_codec {
    ($name:ident { $($field:ident),+ $(,)? }) => {
        impl $crate::codec::Write for $name {
            fn write(&self, buf: &mut impl ::bytes::BufMut) {
                $( $crate::codec::Write::write(&self.$field, buf); )+
            }
        }
        impl $crate::codec::EncodeSize for $name {
            fn encode_size(&self) -> usize {
                0 $( + $crate::codec::EncodeSize::encode_size(&self.$field) )+
            }
        }
        impl $crate::codec::Read for $name {
            type Cfg = ();
            fn read_cfg(
                buf: &mut impl $crate::codec::Buf,
                _: &(),
            ) -> Result<Self, $crate::codec::Error> {
                Ok(Self { $( $field: $crate::codec::ReadExt::read(buf)?, )+ })
            }
        }
    };
}
