/**
 * TypeScript shapes of the decoded ONNX messages (see schema.ts). Every field is optional because
 * protobufjs leaves absent fields off the object (their defaults live on the prototype) and
 * because messages we build ourselves are plain objects. Messages are treated as immutable: an
 * edit builds new objects along the changed path and shares the rest.
 *
 * These types never leave src/onnx/.
 */

/** An int64 as protobufjs decodes it (a Long) or as we write it (a safe number or a Long-like). */
export type Int64 = number | LongLike;
export interface LongLike {
  readonly low: number;
  readonly high: number;
  readonly unsigned: boolean;
}

export interface StringStringEntryProto {
  readonly key?: string;
  readonly value?: string;
}

export interface OperatorSetIdProto {
  readonly domain?: string;
  readonly version?: Int64;
}

export interface TensorProto {
  readonly dims?: readonly Int64[];
  readonly data_type?: number;
  readonly segment?: { readonly begin?: Int64; readonly end?: Int64 };
  readonly float_data?: readonly number[];
  readonly int32_data?: readonly number[];
  readonly string_data?: readonly Uint8Array[];
  readonly int64_data?: readonly Int64[];
  readonly name?: string;
  readonly doc_string?: string;
  readonly raw_data?: Uint8Array;
  readonly external_data?: readonly StringStringEntryProto[];
  readonly data_location?: number;
  readonly double_data?: readonly number[];
  readonly uint64_data?: readonly Int64[];
  readonly metadata_props?: readonly StringStringEntryProto[];
}

export interface SparseTensorProto {
  readonly values?: TensorProto;
  readonly indices?: TensorProto;
  readonly dims?: readonly Int64[];
}

export interface DimensionProto {
  readonly dim_value?: Int64;
  readonly dim_param?: string;
  readonly denotation?: string;
}

export interface TensorShapeProto {
  readonly dim?: readonly DimensionProto[];
}

export interface TypeProto {
  readonly tensor_type?: { readonly elem_type?: number; readonly shape?: TensorShapeProto };
  readonly sequence_type?: { readonly elem_type?: TypeProto };
  readonly map_type?: { readonly key_type?: number; readonly value_type?: TypeProto };
  readonly optional_type?: { readonly elem_type?: TypeProto };
  readonly sparse_tensor_type?: { readonly elem_type?: number; readonly shape?: TensorShapeProto };
  readonly opaque_type?: { readonly domain?: string; readonly name?: string };
  readonly denotation?: string;
}

export interface ValueInfoProto {
  readonly name?: string;
  readonly type?: TypeProto;
  readonly doc_string?: string;
  readonly metadata_props?: readonly StringStringEntryProto[];
}

export interface AttributeProto {
  readonly name?: string;
  readonly ref_attr_name?: string;
  readonly doc_string?: string;
  readonly type?: number;
  readonly f?: number;
  readonly i?: Int64;
  readonly s?: Uint8Array;
  readonly t?: TensorProto;
  readonly g?: GraphProto;
  readonly sparse_tensor?: SparseTensorProto;
  readonly tp?: TypeProto;
  readonly floats?: readonly number[];
  readonly ints?: readonly Int64[];
  readonly strings?: readonly Uint8Array[];
  readonly tensors?: readonly TensorProto[];
  readonly graphs?: readonly GraphProto[];
  readonly sparse_tensors?: readonly SparseTensorProto[];
  readonly type_protos?: readonly TypeProto[];
}

export interface NodeProto {
  readonly input?: readonly string[];
  readonly output?: readonly string[];
  readonly name?: string;
  readonly op_type?: string;
  readonly domain?: string;
  readonly overload?: string;
  readonly attribute?: readonly AttributeProto[];
  readonly doc_string?: string;
  readonly metadata_props?: readonly StringStringEntryProto[];
  readonly device_configurations?: readonly Uint8Array[];
}

export interface TensorAnnotationProto {
  readonly tensor_name?: string;
  readonly quant_parameter_tensor_names?: readonly StringStringEntryProto[];
}

export interface GraphProto {
  readonly node?: readonly NodeProto[];
  readonly name?: string;
  readonly initializer?: readonly TensorProto[];
  readonly sparse_initializer?: readonly SparseTensorProto[];
  readonly doc_string?: string;
  readonly input?: readonly ValueInfoProto[];
  readonly output?: readonly ValueInfoProto[];
  readonly value_info?: readonly ValueInfoProto[];
  readonly quantization_annotation?: readonly TensorAnnotationProto[];
  readonly metadata_props?: readonly StringStringEntryProto[];
}

export interface TrainingInfoProto {
  readonly initialization?: GraphProto;
  readonly algorithm?: GraphProto;
  readonly initialization_binding?: readonly StringStringEntryProto[];
  readonly update_binding?: readonly StringStringEntryProto[];
}

export interface FunctionProto {
  readonly name?: string;
  readonly input?: readonly string[];
  readonly output?: readonly string[];
  readonly attribute?: readonly string[];
  readonly attribute_proto?: readonly AttributeProto[];
  readonly node?: readonly NodeProto[];
  readonly doc_string?: string;
  readonly opset_import?: readonly OperatorSetIdProto[];
  readonly domain?: string;
  readonly overload?: string;
  readonly value_info?: readonly ValueInfoProto[];
  readonly metadata_props?: readonly StringStringEntryProto[];
}

export interface ModelProto {
  readonly ir_version?: Int64;
  readonly opset_import?: readonly OperatorSetIdProto[];
  readonly producer_name?: string;
  readonly producer_version?: string;
  readonly domain?: string;
  readonly model_version?: Int64;
  readonly doc_string?: string;
  readonly graph?: GraphProto;
  readonly metadata_props?: readonly StringStringEntryProto[];
  readonly training_info?: readonly TrainingInfoProto[];
  readonly functions?: readonly FunctionProto[];
  readonly configuration?: readonly Uint8Array[];
}
