// Shims for libhdf5 macros Swift cannot import (they expand to function calls
// or casts): open flags, default property lists, native types, error stack.
#ifndef H5MOUNT_CHDF5_SHIM_H
#define H5MOUNT_CHDF5_SHIM_H
#include <hdf5.h>

static inline unsigned h5m_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned h5m_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned h5m_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned h5m_acc_excl(void) { return H5F_ACC_EXCL; }
static inline unsigned h5m_acc_swmr_read(void) { return H5F_ACC_SWMR_READ; }
static inline hid_t h5m_p_default(void) { return H5P_DEFAULT; }
static inline hid_t h5m_s_all(void) { return H5S_ALL; }
static inline hid_t h5m_e_default(void) { return H5E_DEFAULT; }
static inline hid_t h5m_p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t h5m_p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t h5m_p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t h5m_p_dataset_access(void) { return H5P_DATASET_ACCESS; }
static inline hid_t h5m_p_dataset_xfer(void) { return H5P_DATASET_XFER; }
static inline hid_t h5m_p_link_access(void) { return H5P_LINK_ACCESS; }
static inline hid_t h5m_p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t h5m_p_group_create(void) { return H5P_GROUP_CREATE; }
static inline hid_t h5m_p_object_copy(void) { return H5P_OBJECT_COPY; }
static inline hid_t h5m_p_attribute_create(void) { return H5P_ATTRIBUTE_CREATE; }
static inline hid_t h5m_t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t h5m_t_native_int8(void) { return H5T_NATIVE_INT8; }
static inline hid_t h5m_t_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t h5m_t_native_int16(void) { return H5T_NATIVE_INT16; }
static inline hid_t h5m_t_native_uint32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t h5m_t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t h5m_t_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t h5m_t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t h5m_t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t h5m_t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t h5m_t_c_s1(void) { return H5T_C_S1; }
static inline hid_t h5m_t_std_ref_obj(void) { return H5T_STD_REF_OBJ; }
static inline hid_t h5m_t_std_ref_dsetreg(void) { return H5T_STD_REF_DSETREG; }
static inline hid_t h5m_t_std_u8le(void) { return H5T_STD_U8LE; }
static inline unsigned h5m_f_obj_local_objects(void) {
    return H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL;
}
static inline hsize_t h5m_s_unlimited(void) { return H5S_UNLIMITED; }
static inline haddr_t h5m_haddr_undef(void) { return HADDR_UNDEF; }
static inline size_t h5m_t_variable(void) { return H5T_VARIABLE; }

// Error classes and codes (macros over H5OPEN'd globals), used to classify a failed call.
static inline hid_t h5m_e_err_cls(void) { return H5E_ERR_CLS; }
static inline hid_t h5m_e_notfound(void) { return H5E_NOTFOUND; }
static inline hid_t h5m_e_pline(void) { return H5E_PLINE; }
static inline hid_t h5m_e_plugin(void) { return H5E_PLUGIN; }
static inline hid_t h5m_e_cantload(void) { return H5E_CANTLOAD; }

#endif
