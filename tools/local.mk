# The sealkit command-line program: one file per command group.
bin_PROGRAMS += tools/sealkit
tools_sealkit_SOURCES = tools/sealkit.c tools/cli.h tools/cli.c tools/json.c \
	tools/cmd_token.c tools/cmd_cert.c tools/cmd_seal.c tools/cmd_stamp.c \
	tools/cmd_verify.c tools/cmd_demo.c
tools_sealkit_CPPFLAGS = $(sealkit_cppflags) \
	-DSEALKIT_P11_MODULE_DIR='"$(p11moduledir)"'
tools_sealkit_LDADD = $(sealkit_ldadd)
dist_man1_MANS = tools/sealkit.1
