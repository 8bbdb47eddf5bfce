package org.wbctransfer.cli;
public class WbcCli { public static void main(String[] a) {} }
